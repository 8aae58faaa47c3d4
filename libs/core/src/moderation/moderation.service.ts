import { Injectable, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CuratedDataService } from '../curation/curated-data.service';
import type { PreferencePair } from '../curation/curation.types';
import { imagePathFor } from '../curation/image-path.util';
import { buildPreferencePairs, toJsonl } from '../curation/preference-pairs.util';
import { queryRows } from '../database/query-rows.util';
import type { ModerationActionKind, ModerationStatus, RoundOrigin } from '../entities/enums';
import { ModerationActionEntity } from '../entities/moderation-action.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { parseInput } from '../errors/parse-input.util';
import { isUuid } from '../errors/uuid.util';
import { ACTIVE_LABEL_SQL } from '../feedback/active-labels.sql';
import { PromptPolicy } from '../safety/prompt-policy.service';
import {
  MAX_WORKSPACE_TERMS,
  PolicyScopeSchema,
  type BlockedTerm,
  type BlockedTermsView,
  type PolicyScope,
} from '../safety/prompt-policy.types';
import { MAX_TERM_CHARS, normaliseTerm } from '../safety/prompt-terms.util';
import {
  ExportOptionsSchema,
  ListLabelsSchema,
  ModeratorIdSchema,
  type AuditEntry,
  type DeletionResult,
  type DialogueExport,
  type ExportOptions,
  type LabelReviewItem,
  type ListLabelsOptions,
  type RaterSummary,
} from './moderation.types';

/**
 * What moderators do — review labels, ban raters, delete content, export curated data — behind
 * one service the web moderation page and the chat adapters call. Every action writes a row to
 * the audit log in the same transaction as its effect.
 */
@Injectable()
export class ModerationService {
  private readonly curated: CuratedDataService;

  /**
   * `policy`: the PromptPolicy whose cached block lists a term change invalidates in this process
   * (other processes pick the change up within its cache TTL).
   */
  constructor(
    private readonly dataSource: DataSource,
    @Optional() private readonly policy?: PromptPolicy,
  ) {
    this.curated = new CuratedDataService(dataSource);
  }

  /**
   * Block a term in one workspace: messages and refined prompts containing it as whole words are
   * refused (moderators' own messages excepted). Stored normalised; adding a term already there
   * changes nothing and returns `added: false` (not audited).
   */
  async blockTerm(moderatorId: string, scope: PolicyScope, term: string, reason?: string): Promise<{ term: string; added: boolean }> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    const where = parseInput(PolicyScopeSchema, scope);
    const normalised = this.termOrThrow(term);
    const added = await this.dataSource.transaction(async (em) => {
      const rows = await queryRows<{ id: string; total: number }>(
        em,
        `WITH inserted AS (
           INSERT INTO prompt_block_terms (platform, workspace_id, term, created_by)
           SELECT $1::varchar, $2::varchar, $3::varchar, $4::varchar
            WHERE (SELECT count(*) FROM prompt_block_terms WHERE platform = $1 AND workspace_id = $2) < $5::int
           ON CONFLICT (platform, workspace_id, term) DO NOTHING RETURNING id)
         SELECT (SELECT id FROM inserted) AS id,
                (SELECT count(*) FROM prompt_block_terms WHERE platform = $1 AND workspace_id = $2)::int AS total`,
        [where.platform, where.workspaceId, normalised, mod, MAX_WORKSPACE_TERMS],
      );
      const row = rows[0];
      if (!row?.id) {
        if ((row?.total ?? 0) >= MAX_WORKSPACE_TERMS && !(await this.hasTerm(em, where, normalised))) {
          throw new CoreError(CoreErrorCode.InvalidInput, `This workspace already blocks ${MAX_WORKSPACE_TERMS} terms; remove some first.`);
        }
        return false;
      }
      await this.audit(em, mod, 'block_term', 'prompt_term', `${where.platform}:${where.workspaceId}`, reason ?? null, { term: normalised });
      return true;
    });
    this.policy?.invalidate(where);
    return { term: normalised, added };
  }

  /** Unblock a workspace's term (matched in its normalised form); `removed: false` if it was not blocked. */
  async unblockTerm(moderatorId: string, scope: PolicyScope, term: string, reason?: string): Promise<{ term: string; removed: boolean }> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    const where = parseInput(PolicyScopeSchema, scope);
    const normalised = this.termOrThrow(term);
    const removed = await this.dataSource.transaction(async (em) => {
      const rows = await queryRows<{ id: string }>(
        em,
        'DELETE FROM prompt_block_terms WHERE platform = $1 AND workspace_id = $2 AND term = $3 RETURNING id',
        [where.platform, where.workspaceId, normalised],
      );
      if (rows.length === 0) return false;
      await this.audit(em, mod, 'unblock_term', 'prompt_term', `${where.platform}:${where.workspaceId}`, reason ?? null, { term: normalised });
      return true;
    });
    this.policy?.invalidate(where);
    return { term: normalised, removed };
  }

  /** The global terms and the terms of one workspace (or of every workspace without a scope). */
  async listBlockedTerms(scope?: PolicyScope): Promise<BlockedTermsView> {
    const where = scope ? parseInput(PolicyScopeSchema, scope) : null;
    const rows: BlockedTerm[] = await this.dataSource.query(
      `SELECT platform, workspace_id AS "workspaceId", term, created_by AS "createdBy", created_at AS "createdAt"
         FROM prompt_block_terms
        WHERE ($1::varchar IS NULL OR (platform = $1 AND workspace_id = $2))
        ORDER BY platform, workspace_id, id`,
      [where?.platform ?? null, where?.workspaceId ?? null],
    );
    return { global: [...(this.policy?.global() ?? [])], workspace: rows };
  }

  async listRecentLabels(options: ListLabelsOptions = {}): Promise<LabelReviewItem[]> {
    const o = parseInput(ListLabelsSchema, options);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT fe.id AS "eventId", fe.rater_id AS "raterId", r.banned AS "raterBanned", fe.image_id AS "imageId",
              i.storage_key AS "storageKey", i.candidate_index AS "candidateIndex", fe.round_id AS "roundId",
              rd.index AS "roundIndex", rd.dialogue_id AS "dialogueId", rd.refined_prompt AS "prompt",
              fe.signal, fe.source, fe.platform, fe.created_at AS "createdAt", fe.revoked_at AS "revokedAt",
              fe.moderation_status AS "moderationStatus"
         FROM feedback_events fe
         JOIN raters r ON r.id = fe.rater_id
         JOIN images i ON i.id = fe.image_id
         JOIN rounds rd ON rd.id = fe.round_id
        WHERE ($1::varchar IS NULL OR fe.moderation_status = $1)
          AND ($2::varchar IS NULL OR fe.rater_id = $2)
          AND ($3::boolean OR fe.revoked_at IS NULL)
        ORDER BY fe.created_at DESC, fe.id DESC
        LIMIT $4 OFFSET $5`,
      [o.status ?? null, o.raterId ?? null, o.includeRevoked, o.limit, o.offset],
    );
    return rows as unknown as LabelReviewItem[];
  }

  approveLabels(moderatorId: string, eventIds: string[], reason?: string): Promise<number> {
    return this.setLabelStatus(moderatorId, eventIds, 'approved', reason);
  }

  rejectLabels(moderatorId: string, eventIds: string[], reason?: string): Promise<number> {
    return this.setLabelStatus(moderatorId, eventIds, 'rejected', reason);
  }

  async banRater(moderatorId: string, raterId: string, reason: string): Promise<void> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    if (!reason.trim()) throw new CoreError(CoreErrorCode.InvalidInput, 'A ban needs a reason.');
    await this.dataSource.transaction(async (em) => {
      const rows = await queryRows<{ id: string }>(
        em,
        `UPDATE raters SET banned = true, banned_reason = $2, banned_at = now() WHERE id = $1 RETURNING id`,
        [raterId, reason],
      );
      if (rows.length === 0) throw new CoreError(CoreErrorCode.RaterNotFound, 'No such rater.', { raterId });
      await this.refreshKeptImagesOfRater(em, raterId);
      await this.audit(em, mod, 'ban_rater', 'rater', raterId, reason);
    });
  }

  async unbanRater(moderatorId: string, raterId: string, reason?: string): Promise<void> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    await this.dataSource.transaction(async (em) => {
      const rows = await queryRows<{ id: string }>(
        em,
        `UPDATE raters SET banned = false, banned_reason = NULL, banned_at = NULL WHERE id = $1 RETURNING id`,
        [raterId],
      );
      if (rows.length === 0) throw new CoreError(CoreErrorCode.RaterNotFound, 'No such rater.', { raterId });
      await this.refreshKeptImagesOfRater(em, raterId);
      await this.audit(em, mod, 'unban_rater', 'rater', raterId, reason ?? null);
    });
  }

  /**
   * Raters, newest first, with what helps spot a bad one: active labels, labels in the last 24 h
   * (rating speed), and agreement — the share of their thumbs that point the same way as the
   * other, non-banned raters' net vote on the same image (null until there is something to compare).
   */
  async listRaters(opts: { bannedOnly?: boolean; limit?: number } = {}): Promise<RaterSummary[]> {
    const rows: Array<RaterSummary & { compared: number; agreed: number }> = await this.dataSource.query(
      `WITH votes AS (
         SELECT fe.rater_id, fe.image_id, CASE fe.signal WHEN 'up' THEN 1 ELSE -1 END AS v
           FROM feedback_events fe
          WHERE fe.signal IN ('up', 'down') AND fe.revoked_at IS NULL AND fe.moderation_status <> 'rejected'),
       trusted AS (
         SELECT v.image_id, sum(v.v) AS net
           FROM votes v JOIN raters r ON r.id = v.rater_id
          WHERE r.banned = false GROUP BY v.image_id),
       agreement AS (
         SELECT v.rater_id,
                count(*) FILTER (WHERE sign(t.net - CASE WHEN r.banned THEN 0 ELSE v.v END) <> 0)::int AS compared,
                count(*) FILTER (WHERE sign(t.net - CASE WHEN r.banned THEN 0 ELSE v.v END) = v.v)::int AS agreed
           FROM votes v JOIN trusted t USING (image_id) JOIN raters r ON r.id = v.rater_id
          GROUP BY v.rater_id)
       SELECT r.id, r.platform, r.banned, r.banned_reason AS "bannedReason", r.banned_at AS "bannedAt",
              r.created_at AS "createdAt",
              (SELECT count(*) FROM feedback_events fe WHERE fe.rater_id = r.id AND fe.revoked_at IS NULL)::int AS "activeLabels",
              (SELECT count(*) FROM feedback_events fe
                WHERE fe.rater_id = r.id AND fe.created_at > now() - interval '24 hours')::int AS "labelsLast24h",
              coalesce(a.compared, 0) AS compared, coalesce(a.agreed, 0) AS agreed
         FROM raters r LEFT JOIN agreement a ON a.rater_id = r.id
        WHERE ($1::boolean = false OR r.banned)
        ORDER BY r.created_at DESC, r.id
        LIMIT $2`,
      [opts.bannedOnly ?? false, Math.min(Math.max(opts.limit ?? 200, 1), 5000)],
    );
    return rows.map(({ compared, agreed, ...rater }) => ({
      ...rater,
      agreement: compared > 0 ? agreed / compared : null,
      comparedLabels: compared,
    }));
  }

  async deleteImage(moderatorId: string, imageId: string, reason?: string): Promise<DeletionResult> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    if (!isUuid(imageId)) throw new CoreError(CoreErrorCode.ImageNotFound, 'This image no longer exists.', { imageId });
    return this.dataSource.transaction(async (em) => {
      const rows = await queryRows<{ storage_key: string; round_id: string }>(
        em,
        `DELETE FROM images WHERE id = $1 RETURNING storage_key, round_id`,
        [imageId],
      );
      if (rows.length === 0) throw new CoreError(CoreErrorCode.ImageNotFound, 'This image no longer exists.', { imageId });
      // Its picks went with it (ON DELETE CASCADE): another pick of the round may now be the kept image.
      await this.refreshKeptImage(em, rows[0]!.round_id);
      const orphanedStorageKeys = await this.orphaned(em, rows.map((r) => r.storage_key));
      await this.audit(em, mod, 'delete_image', 'image', imageId, reason ?? null, {
        roundId: rows[0]!.round_id,
        storageKey: rows[0]!.storage_key,
      });
      return { deletedImages: 1, deletedRounds: 0, orphanedStorageKeys };
    });
  }

  async deleteDialogue(moderatorId: string, dialogueId: string, reason?: string): Promise<DeletionResult> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    if (!isUuid(dialogueId)) throw new CoreError(CoreErrorCode.DialogueNotFound, 'This dialogue does not exist.', { dialogueId });
    return this.dataSource.transaction(async (em) => {
      const images = await queryRows<{ storage_key: string }>(
        em,
        `SELECT i.storage_key FROM images i JOIN rounds rd ON rd.id = i.round_id WHERE rd.dialogue_id = $1`,
        [dialogueId],
      );
      const rounds = await queryRows<{ n: number }>(em, `SELECT count(*)::int AS n FROM rounds WHERE dialogue_id = $1`, [dialogueId]);
      // rounds, images and their feedback events go with the dialogue (ON DELETE CASCADE).
      const deleted = await queryRows<{ thread_id: string; platform: string }>(
        em,
        `DELETE FROM dialogues WHERE id = $1 RETURNING thread_id, platform`,
        [dialogueId],
      );
      if (deleted.length === 0) throw new CoreError(CoreErrorCode.DialogueNotFound, 'This dialogue does not exist.', { dialogueId });
      const orphanedStorageKeys = await this.orphaned(em, images.map((i) => i.storage_key));
      await this.audit(em, mod, 'delete_dialogue', 'dialogue', dialogueId, reason ?? null, {
        platform: deleted[0]!.platform,
        threadId: deleted[0]!.thread_id,
        rounds: rounds[0]?.n ?? 0,
        images: images.length,
      });
      return { deletedImages: images.length, deletedRounds: rounds[0]?.n ?? 0, orphanedStorageKeys };
    });
  }

  /** Curated preference pairs (Pick-a-Pic style) as objects and as JSON Lines. */
  async exportPairs(moderatorId: string, options: ExportOptions): Promise<{ pairs: PreferencePair[]; jsonl: string }> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    const o = parseInput(ExportOptionsSchema, options);
    const data = await this.curated.load({ requireApproval: o.requireApproval });
    const pairs = buildPreferencePairs(data, o.imageDir);
    await this.audit(this.dataSource.manager, mod, 'export_pairs', 'export', null, null, {
      pairs: pairs.length,
      labels: data.labels.length,
      requireApproval: o.requireApproval,
    });
    return { pairs, jsonl: toJsonl(pairs) };
  }

  /** Every dialogue with its rounds, images and curated labels (banned raters' labels left out). */
  async exportDialogues(moderatorId: string, options: ExportOptions): Promise<DialogueExport[]> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    const o = parseInput(ExportOptionsSchema, options);
    const rounds: ExportRoundRow[] = await this.dataSource.query(
      `SELECT d.id AS dialogue_id, d.platform, d.created_at AS dialogue_created_at,
              rd.id AS round_id, rd.index, rd.requester_id, rd.user_text, rd.refined_prompt, rd.negative_prompt, rd.mode,
              rd.status, rd.origin, rd.source_round_id, rd.parent_image_id, rd.kept_image_id, coalesce(ra.banned, false) AS requester_banned
         FROM dialogues d JOIN rounds rd ON rd.dialogue_id = d.id
         LEFT JOIN raters ra ON ra.id = rd.requester_id
        ORDER BY d.created_at, d.id, rd.index`,
    );
    const images: ExportImageRow[] = await this.dataSource.query(
      `SELECT id, round_id, candidate_index, storage_key, seed, steps, strength, guidance_scale, model_version,
              lora_versions, content_hash
         FROM images ORDER BY round_id, candidate_index`,
    );
    const labels = (await this.curated.load({ requireApproval: o.requireApproval })).labels;

    const labelsByImage = groupBy(labels, (l) => l.imageId);
    const imagesByRound = groupBy(images, (i) => i.round_id);
    const out = new Map<string, DialogueExport>();
    for (const r of rounds) {
      let d = out.get(r.dialogue_id);
      if (!d) {
        d = { dialogue_id: r.dialogue_id, platform: r.platform, created_at: new Date(r.dialogue_created_at).toISOString(), rounds: [] };
        out.set(r.dialogue_id, d);
      }
      d.rounds.push({
        round_id: r.round_id,
        index: r.index,
        requester_id: r.requester_id,
        user_text: r.requester_banned ? null : r.user_text,
        refined_prompt: r.refined_prompt,
        negative_prompt: r.negative_prompt,
        mode: r.mode,
        status: r.status,
        origin: r.origin,
        source_round_id: r.source_round_id,
        parent_image_uid: r.parent_image_id,
        kept_image_uid: r.kept_image_id,
        images: (imagesByRound.get(r.round_id) ?? []).map((i) => ({
          uid: i.id,
          candidate_index: i.candidate_index,
          path: imagePathFor(o.imageDir, i.storage_key),
          seed: Number(i.seed),
          steps: i.steps,
          strength: i.strength,
          guidance_scale: i.guidance_scale,
          model_version: i.model_version,
          lora_versions: i.lora_versions,
          content_hash: i.content_hash,
          labels: (labelsByImage.get(i.id) ?? []).map((l) => ({
            rater_id: l.raterId,
            signal: l.signal,
            source: l.source,
            moderation_status: l.moderationStatus,
            created_at: l.createdAt.toISOString(),
          })),
        })),
      });
    }
    const dialogues = [...out.values()];
    await this.audit(this.dataSource.manager, mod, 'export_dialogues', 'export', null, null, {
      dialogues: dialogues.length,
      labels: labels.length,
      requireApproval: o.requireApproval,
    });
    return dialogues;
  }

  async listAuditLog(opts: { limit?: number; offset?: number } = {}): Promise<AuditEntry[]> {
    const rows = await this.dataSource.getRepository(ModerationActionEntity).find({
      order: { id: 'DESC' },
      take: Math.min(Math.max(opts.limit ?? 100, 1), 1000),
      skip: opts.offset ?? 0,
    });
    return rows.map((r) => ({ ...r }));
  }

  private async setLabelStatus(
    moderatorId: string,
    eventIds: string[],
    status: Exclude<ModerationStatus, 'pending'>,
    reason?: string,
  ): Promise<number> {
    const mod = parseInput(ModeratorIdSchema, moderatorId);
    const bad = eventIds.find((id) => !isUuid(id));
    if (bad !== undefined) throw new CoreError(CoreErrorCode.InvalidInput, `Invalid label id: ${JSON.stringify(bad)}`);
    if (eventIds.length === 0) return 0;
    return this.dataSource.transaction(async (em) => {
      const rows = await queryRows<{ id: string; round_id: string }>(
        em,
        `UPDATE feedback_events SET moderation_status = $2, moderated_at = now(), moderated_by = $3
          WHERE id = ANY($1::uuid[]) RETURNING id, round_id`,
        [eventIds, status, mod],
      );
      for (const row of rows) {
        await this.audit(em, mod, status === 'approved' ? 'approve_label' : 'reject_label', 'feedback_event', row.id, reason ?? null);
      }
      // A rejected pick no longer decides which image the next round starts from.
      for (const roundId of new Set(rows.map((r) => r.round_id))) await this.refreshKeptImage(em, roundId);
      return rows.length;
    });
  }

  private termOrThrow(term: string): string {
    const normalised = normaliseTerm(term);
    if (!normalised) {
      throw new CoreError(CoreErrorCode.InvalidInput, `A blocked term needs letters or digits and at most ${MAX_TERM_CHARS} characters.`);
    }
    return normalised;
  }

  private async hasTerm(em: EntityManager, scope: PolicyScope, term: string): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      em,
      'SELECT id FROM prompt_block_terms WHERE platform = $1 AND workspace_id = $2 AND term = $3',
      [scope.platform, scope.workspaceId, term],
    );
    return rows.length > 0;
  }

  private async refreshKeptImagesOfRater(em: EntityManager, raterId: string): Promise<void> {
    const rounds = await queryRows<{ round_id: string }>(
      em,
      `SELECT DISTINCT round_id FROM feedback_events WHERE rater_id = $1 AND signal = 'pick'`,
      [raterId],
    );
    for (const r of rounds) await this.refreshKeptImage(em, r.round_id);
  }

  private async refreshKeptImage(em: EntityManager, roundId: string): Promise<void> {
    await em.query(
      `UPDATE rounds SET kept_image_id = (
           SELECT fe.image_id FROM feedback_events fe JOIN raters r ON r.id = fe.rater_id
            WHERE fe.round_id = $1 AND fe.signal = 'pick' AND ${ACTIVE_LABEL_SQL}
            ORDER BY fe.created_at DESC, fe.id DESC LIMIT 1)
        WHERE id = $1`,
      [roundId],
    );
  }

  private async orphaned(em: EntityManager, keys: string[]): Promise<string[]> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return [];
    const still = await queryRows<{ storage_key: string }>(
      em,
      `SELECT DISTINCT storage_key FROM images WHERE storage_key = ANY($1::varchar[])`,
      [unique],
    );
    const kept = new Set(still.map((s) => s.storage_key));
    return unique.filter((k) => !kept.has(k)).sort();
  }

  /**
   * Records a moderator's action taken outside this service (the learning loop's: a training run
   * requested, a model version activated or rolled back) in the same audit table.
   */
  async recordAction(moderatorId: string, action: ModerationActionKind, target: { type: string; id: string | null }, details: Record<string, unknown> = {}): Promise<void> {
    await this.audit(this.dataSource.manager, moderatorId, action, target.type, target.id, null, details);
  }

  private async audit(
    em: EntityManager,
    moderatorId: string,
    action: ModerationActionKind,
    targetType: string,
    targetId: string | null,
    reason: string | null,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await em.query(
      `INSERT INTO moderation_actions (moderator_id, action, target_type, target_id, reason, details)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
      [moderatorId, action, targetType, targetId, reason, JSON.stringify(details)],
    );
  }
}

interface ExportRoundRow {
  dialogue_id: string;
  platform: DialogueExport['platform'];
  dialogue_created_at: Date;
  round_id: string;
  index: number;
  requester_id: string;
  requester_banned: boolean;
  user_text: string;
  refined_prompt: string;
  negative_prompt: string;
  mode: string;
  status: string;
  origin: RoundOrigin;
  source_round_id: string | null;
  parent_image_id: string | null;
  kept_image_id: string | null;
}

interface ExportImageRow {
  id: string;
  round_id: string;
  candidate_index: number;
  storage_key: string;
  /** int8 arrives as a string. */
  seed: string;
  steps: number;
  strength: number;
  guidance_scale: number;
  model_version: string;
  lora_versions: string[];
  content_hash: string;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}
