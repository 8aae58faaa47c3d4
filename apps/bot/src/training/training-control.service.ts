import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  CoreError,
  CoreErrorCode,
  ModelVersionService,
  ModerationService,
  TrainingRunService,
  type ModelVersionEntity,
  type ModelVersionKind,
  type TrainingRunEntity,
} from '@vca/core';
import { TrainingQueue } from '@vca/queue';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';

/**
 * What moderators do about the learning loop, from any surface (web page, Discord, Slack): ask
 * for a training run now, read runs and model versions with their metrics, activate a version or
 * roll back. The core services do the work; this adds the training queue, the log line naming the
 * moderator and the row in the moderation audit table.
 */
@Injectable()
export class TrainingControl implements OnModuleDestroy {
  private readonly logger = new Logger(TrainingControl.name);
  private training: TrainingQueue | null = null;

  constructor(
    private readonly runs: TrainingRunService,
    private readonly versions: ModelVersionService,
    private readonly moderation: ModerationService,
    @Inject(BOT_CONFIG) private readonly config: BotConfig,
  ) {}

  /** Enqueues a manual training job (the GPU server's training worker runs it). Returns the job id. */
  async requestRun(moderatorId: string, opts: { requireApproval?: boolean } = {}): Promise<string> {
    const jobId = await this.queue().requestRun({ trigger: 'manual', requireApproval: opts.requireApproval ?? false });
    this.logger.log(`${moderatorId} requested a training run (job ${jobId})`);
    await this.moderation.recordAction(moderatorId, 'request_training', { type: 'training_job', id: jobId }, { requireApproval: opts.requireApproval ?? false });
    return jobId;
  }

  listRuns(limit = 20): Promise<TrainingRunEntity[]> {
    return this.runs.listRuns(limit);
  }

  /** Versions newest first, of one kind and/or community (null = global only). */
  async listVersions(filter: { kind?: ModelVersionKind; communityId?: string | null } = {}): Promise<ModelVersionEntity[]> {
    return (await this.versions.list(filter)).reverse();
  }

  async activate(moderatorId: string, versionId: string): Promise<ModelVersionEntity> {
    const version = await this.versions.activate(versionId);
    this.logger.log(`${moderatorId} activated ${version.kind} version ${version.name} (${version.id}) for ${version.communityId ?? 'every community'}`);
    await this.moderation.recordAction(moderatorId, 'activate_model', { type: 'model_version', id: version.id }, { name: version.name, kind: version.kind, communityId: version.communityId });
    return version;
  }

  /**
   * Rolls (kind, community) back to the version active before, or to `toVersion` (an id or a
   * name) of that scope. Returns the version now serving the community (its own or, with none
   * left, the global one) and what was rolled back from.
   */
  async rollback(
    moderatorId: string,
    scope: { kind: ModelVersionKind; communityId: string | null; toVersion?: string },
  ): Promise<{ from: ModelVersionEntity | null; active: ModelVersionEntity | null; serving: ModelVersionEntity | null }> {
    let communityId = scope.communityId;
    let toVersionId: string | undefined;
    if (scope.toVersion) {
      const target = await this.findVersion(scope.toVersion, scope.kind);
      communityId = target.communityId;
      toVersionId = target.id;
    }
    const from = (await this.versions.list({ kind: scope.kind, communityId })).find((v) => v.active) ?? null;
    const active = await this.versions.rollback(scope.kind, communityId, toVersionId);
    const serving = await this.versions.active(scope.kind, communityId);
    this.logger.log(
      `${moderatorId} rolled ${scope.kind} of ${communityId ?? 'global'} back from ${from?.name ?? 'none'} to ${active?.name ?? 'none'} (serving: ${serving?.name ?? 'base behaviour'})`,
    );
    await this.moderation.recordAction(moderatorId, 'rollback_model', { type: 'model_version', id: from?.id ?? null }, {
      kind: scope.kind,
      communityId,
      from: from?.name ?? null,
      to: active?.name ?? null,
      serving: serving?.name ?? null,
    });
    return { from, active, serving };
  }

  /**
   * The scope a chat moderator's `rollback` acts on: their community when it has an active version
   * of its own, else the global one that serves it.
   */
  async servingScope(kind: ModelVersionKind, communityId: string): Promise<string | null> {
    const serving = await this.versions.active(kind, communityId);
    return serving?.communityId ?? (serving ? null : communityId);
  }

  /** A version by id or by name (chat moderators type names). */
  async findVersion(idOrName: string, kind?: ModelVersionKind): Promise<ModelVersionEntity> {
    const all = await this.versions.list(kind ? { kind } : {});
    const found = all.find((v) => v.id === idOrName) ?? all.find((v) => v.name === idOrName) ?? all.find((v) => v.id.startsWith(idOrName) && idOrName.length >= 8);
    if (!found) throw new CoreError(CoreErrorCode.InvalidInput, `No ${kind ?? 'model'} version named ${idOrName}.`, { version: idOrName });
    return found;
  }

  /** Opened on first use: most bots never train from chat, so no Redis connection for it. */
  private queue(): TrainingQueue {
    this.training ??= new TrainingQueue({ redisUrl: this.config.REDIS_URL, prefix: this.config.QUEUE_PREFIX });
    return this.training;
  }

  async onModuleDestroy(): Promise<void> {
    await this.training?.close();
  }
}
