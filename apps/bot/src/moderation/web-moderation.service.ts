import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ModerationService,
  type ModelVersionEntity,
  type TrainingRunEntity,
  type AuditEntry,
  type BlockedTermsView,
  type DeletionResult,
  type DialogueExport,
  type LabelReviewItem,
  type RaterSummary,
} from '@vca/core';
import { DiskImageStorage } from '@vca/shared';
import { imageUrl } from '../chat/round-view.mapper';
import { removeOrphanFiles } from '../core/orphan-files.util';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';
import { TrainingControl } from '../training/training-control.service';
import type { BlockTermBody, BlockedTermsQuery, ListLabelsQuery, ModelVersionsQuery, PageQuery, RollbackBody, UnblockTermQuery } from './moderation.dto';

export type LabelRow = LabelReviewItem & { imageUrl: string };

/** Who the audit log names for actions taken on the admin-token-gated web page. */
export const WEB_MODERATOR = 'web:admin';

/**
 * The moderation page's calls on the core's ModerationService, plus the two things only the app
 * can do: image URLs for review, and removing files of images no row refers to any more.
 */
@Injectable()
export class WebModerationService {
  private readonly logger = new Logger(WebModerationService.name);

  constructor(
    private readonly moderation: ModerationService,
    private readonly storage: DiskImageStorage,
    @Inject(BOT_CONFIG) private readonly config: BotConfig,
    private readonly training: TrainingControl,
  ) {}

  async requestTrainingRun(requireApproval: boolean): Promise<{ jobId: string }> {
    return { jobId: await this.training.requestRun(WEB_MODERATOR, { requireApproval }) };
  }

  trainingRuns(limit: number): Promise<TrainingRunEntity[]> {
    return this.training.listRuns(limit);
  }

  modelVersions(query: ModelVersionsQuery): Promise<ModelVersionEntity[]> {
    return this.training.listVersions(query);
  }

  activateVersion(id: string): Promise<ModelVersionEntity> {
    return this.training.activate(WEB_MODERATOR, id);
  }

  rollback(body: RollbackBody) {
    return this.training.rollback(WEB_MODERATOR, { kind: body.kind, communityId: body.communityId ?? null, toVersion: body.toVersionId });
  }

  async labels(query: ListLabelsQuery): Promise<LabelRow[]> {
    const labels = await this.moderation.listRecentLabels(query);
    return labels.map((l) => ({ ...l, imageUrl: imageUrl(l.storageKey) }));
  }

  setLabelStatus(decision: 'approve' | 'reject', eventId: string, reason?: string): Promise<number> {
    return decision === 'approve'
      ? this.moderation.approveLabels(WEB_MODERATOR, [eventId], reason)
      : this.moderation.rejectLabels(WEB_MODERATOR, [eventId], reason);
  }

  ban(raterId: string, reason: string): Promise<void> {
    return this.moderation.banRater(WEB_MODERATOR, raterId, reason);
  }

  unban(raterId: string, reason?: string): Promise<void> {
    return this.moderation.unbanRater(WEB_MODERATOR, raterId, reason);
  }

  raters(bannedOnly: boolean): Promise<RaterSummary[]> {
    return this.moderation.listRaters({ bannedOnly, limit: 500 });
  }

  async deleteImage(imageId: string, reason?: string): Promise<DeletionResult> {
    return this.removeOrphans(await this.moderation.deleteImage(WEB_MODERATOR, imageId, reason));
  }

  async deleteDialogue(dialogueId: string, reason?: string): Promise<DeletionResult> {
    return this.removeOrphans(await this.moderation.deleteDialogue(WEB_MODERATOR, dialogueId, reason));
  }

  async exportPairs(): Promise<string> {
    return (await this.moderation.exportPairs(WEB_MODERATOR, { imageDir: this.config.IMAGE_DIR })).jsonl;
  }

  exportDialogues(): Promise<DialogueExport[]> {
    return this.moderation.exportDialogues(WEB_MODERATOR, { imageDir: this.config.IMAGE_DIR });
  }

  blockedTerms(query: BlockedTermsQuery): Promise<BlockedTermsView> {
    const scope = query.platform && query.workspaceId ? { platform: query.platform, workspaceId: query.workspaceId } : undefined;
    return this.moderation.listBlockedTerms(scope);
  }

  blockTerm(body: BlockTermBody): Promise<{ term: string; added: boolean }> {
    return this.moderation.blockTerm(WEB_MODERATOR, { platform: body.platform, workspaceId: body.workspaceId }, body.term, body.reason);
  }

  unblockTerm(query: UnblockTermQuery): Promise<{ term: string; removed: boolean }> {
    return this.moderation.unblockTerm(WEB_MODERATOR, { platform: query.platform, workspaceId: query.workspaceId }, query.term);
  }

  audit(page: PageQuery): Promise<AuditEntry[]> {
    return this.moderation.listAuditLog(page);
  }

  private async removeOrphans(result: DeletionResult): Promise<DeletionResult> {
    await removeOrphanFiles(this.storage, result, this.logger);
    return result;
  }
}
