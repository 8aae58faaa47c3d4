import { Inject, Injectable, Optional } from '@nestjs/common';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DataSource, type QueryRunner } from 'typeorm';
import { communityKey } from '../curation/community.util';
import { CuratedDataService, summarizePairs } from '../curation/curated-data.service';
import type { CuratedData, PreferencePair } from '../curation/curation.types';
import { dataOfCommunity, pairCountsByCommunity } from '../curation/pair-sets.util';
import { buildPreferencePairs } from '../curation/preference-pairs.util';
import type { TrainingDataSummary, TrainingRunEntity, TrainingStageRecord } from '../entities/training-run.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import type { TrainingStage, TrainingStageContext, TrainingStageOutcome } from './training-stage.port';
import { TrainingRunService } from './training-run.service';

/** Nest token: the ordered list of stages a run executes (`TrainingStage[]`). */
export const TRAINING_STAGES = Symbol('TRAINING_STAGES');
/** Nest token: `TrainingPipelineOptions`. */
export const TRAINING_PIPELINE_OPTIONS = Symbol('TRAINING_PIPELINE_OPTIONS');

export interface TrainingPipelineOptions {
  /** Root of the runs' work folders: `<workDir>/<runId>/<stage>/<community | global>`. */
  workDir: string;
  /** The image store (stages read candidates' PNGs from it). */
  imageDir: string;
  /** Fewer preference pairs (ties included) than this in the run's data: the run is skipped. */
  minTrainingPairs: number;
  /** A community gets its own models from this many pairs of its own on (the global model always trains). */
  minCommunityPairs: number;
  /** Progress is written to the run at most this often, except 0 and 1 (default 1000 ms). */
  progressIntervalMs?: number;
  /** How often the run's heartbeat is written while a stage runs (default 30 s). */
  heartbeatMs?: number;
}

export interface PipelineProgress {
  /** Fraction of the whole run in [0, 1]. */
  fraction: number;
  message: string;
  stage?: string;
  communityId?: string | null;
}

export interface ExecuteOptions {
  /** Also told each (throttled) progress report, e.g. to forward to the queue job. */
  onProgress?: (p: PipelineProgress) => void | Promise<void>;
  /** Wait this long for another run to release the training lock before giving up (default 0). */
  lockWaitMs?: number;
  /** Poll interval while waiting for the lock (default 1000 ms). */
  lockPollMs?: number;
}

export interface PipelineResult {
  run: TrainingRunEntity;
  /** The run had already ended before this call: nothing was done. */
  alreadyEnded: boolean;
  /** This call resumed a run an earlier (dead) attempt had started. */
  resumed: boolean;
}

/** Another run holds the training lock (one training run at a time across every worker). */
export class TrainingBusyError extends Error {
  constructor(
    readonly runId: string,
    readonly heldByRunId: string | null,
    waitedMs: number,
  ) {
    super(
      `training run ${runId} did not start: another training run${heldByRunId ? ` (${heldByRunId})` : ''} holds the training lock` +
        (waitedMs > 0 ? ` (waited ${Math.round(waitedMs / 1000)} s)` : ''),
    );
    this.name = 'TrainingBusyError';
  }
}

const DECISIONS = new Set(['promoted', 'kept', 'skipped']);

/**
 * Executes a training run (libs/core/README.md, "Training"): one snapshot of the curated data at
 * the run's cut-off, the global model plus every community with enough pairs of its own, each
 * stage in order per community, every outcome recorded on the run as it happens.
 *
 * - One run at a time: a session-level PostgreSQL advisory lock (keyed by schema) is held on a
 *   dedicated connection for the whole execution; a killed worker's connection closes and frees it.
 * - Resume: a run found `running` (its worker died) starts again; a stage already recorded for a
 *   community (anything but `failed`) is not run again, its outcome is passed on as `previous`.
 * - A stage that throws: its error is recorded, the run ends `failed` naming it. Versions promoted
 *   earlier stay active; activating is each stage's last step, so nothing half-written is served.
 */
@Injectable()
export class TrainingPipelineService {
  readonly runs: TrainingRunService;
  private readonly curated: CuratedDataService;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(TRAINING_STAGES) private readonly stages: readonly TrainingStage[],
    @Inject(TRAINING_PIPELINE_OPTIONS) private readonly options: TrainingPipelineOptions,
    @Optional() runs?: TrainingRunService,
  ) {
    this.runs = runs ?? new TrainingRunService(dataSource);
    this.curated = new CuratedDataService(dataSource);
    const names = stages.map((s) => s.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate) throw new Error(`two training stages are named "${duplicate}"`);
    for (const n of names) if (!/^[a-z][a-z0-9_-]*$/.test(n)) throw new Error(`training stage name "${n}" must be lower-case letters, digits, _ or -`);
  }

  get stageNames(): string[] {
    return this.stages.map((s) => s.name);
  }

  async execute(runId: string, opts: ExecuteOptions = {}): Promise<PipelineResult> {
    const initial = await this.runs.getRun(runId);
    if (!initial) throw new CoreError(CoreErrorCode.InvalidInput, 'No such training run.', { runId });
    if (isEnded(initial)) return { run: initial, alreadyEnded: true, resumed: false };
    const lock = await this.acquireLock(runId, opts);
    try {
      // Another worker may have finished it while this one waited.
      const current = (await this.runs.getRun(runId))!;
      if (isEnded(current)) return { run: current, alreadyEnded: true, resumed: false };
      const { run, resumed } = await this.runs.start(runId);
      return { run: await this.executeStarted(run, opts), alreadyEnded: false, resumed };
    } finally {
      await this.releaseLock(lock);
    }
  }

  private async executeStarted(run: TrainingRunEntity, opts: ExecuteOptions): Promise<TrainingRunEntity> {
    const onlyCommunity = run.options?.communityId ?? null;
    const data = await this.curated.load({
      cutoff: run.dataCutoff,
      requireApproval: run.options?.requireApproval ?? false,
      ...(onlyCommunity ? { communityId: onlyCommunity } : {}),
    });
    const pairs = buildPreferencePairs(data, this.options.imageDir);
    const summary = summarize(data, pairs);
    await this.runs.recordData(run.id, summary);
    const counts = `${summary.pairs + summary.ties} preference pairs (${summary.ties} ties) from ${summary.labels} labels in ${summary.dialogues} dialogues`;
    if (this.stages.length === 0) {
      return this.runs.finish(run.id, 'skipped', `skipped: no training stages configured (data: ${counts}).`);
    }
    const total = summary.pairs + summary.ties;
    if (total < this.options.minTrainingPairs) {
      const reason = `${counts}; fewer than MIN_TRAINING_PAIRS = ${this.options.minTrainingPairs}`;
      return this.runs.finish(run.id, 'skipped', `skipped: ${reason}.`);
    }
    const communities: Array<string | null> = onlyCommunity
      ? [onlyCommunity]
      : [
          null,
          ...Object.entries(summary.communities ?? {})
            .filter(([, n]) => n >= this.options.minCommunityPairs)
            .map(([c]) => c)
            .sort(),
        ];

    const units = communities.length * this.stages.length;
    let unit = 0;
    let recorded = run.stages ?? {};
    for (const communityId of communities) {
      const key = communityKey(communityId);
      const communityData = communityId === null || onlyCommunity ? data : dataOfCommunity(data, communityId);
      const previous: Record<string, TrainingStageOutcome> = {};
      for (const stage of this.stages) {
        const done = recorded[stage.name]?.[key];
        if (done && done.decision !== 'failed') {
          previous[stage.name] = outcomeOf(done);
          unit += 1;
          continue;
        }
        const workDir = join(this.options.workDir, run.id, stage.name, key.replace(/[^A-Za-z0-9_.-]/g, '_'));
        await mkdir(workDir, { recursive: true });
        const reporter = this.progressReporter(run.id, stage.name, communityId, unit, units, opts);
        const ctx: TrainingStageContext = {
          runId: run.id,
          communityId,
          cutoff: run.dataCutoff,
          data: communityData,
          imageDir: this.options.imageDir,
          workDir,
          previous: { ...previous },
          progress: reporter,
        };
        const startedAt = new Date();
        const heartbeat = setInterval(() => void this.runs.heartbeat(run.id).catch(() => undefined), this.options.heartbeatMs ?? 30_000);
        heartbeat.unref?.();
        let record: TrainingStageRecord;
        try {
          await reporter(0, `${stage.name} (${key}) started`);
          const outcome = checkOutcome(stage.name, await stage.run(ctx));
          const finishedAt = new Date();
          record = {
            decision: outcome.decision,
            reason: outcome.reason,
            metrics: outcome.metrics,
            producedVersionId: outcome.producedVersionId,
            seconds: Number.isFinite(outcome.seconds) ? outcome.seconds : (finishedAt.getTime() - startedAt.getTime()) / 1000,
            startedAt: startedAt.toISOString(),
            finishedAt: finishedAt.toISOString(),
          };
          previous[stage.name] = outcome;
        } catch (err) {
          const finishedAt = new Date();
          const message = err instanceof Error ? err.message : String(err);
          record = {
            decision: 'failed',
            reason: `${stage.name} failed: ${message}`.slice(0, 2000),
            metrics: {},
            producedVersionId: null,
            seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
            startedAt: startedAt.toISOString(),
            finishedAt: finishedAt.toISOString(),
            error: (err instanceof Error ? (err.stack ?? message) : message).slice(0, 4000),
          };
        } finally {
          clearInterval(heartbeat);
        }
        const updated = await this.runs.recordStage(run.id, { stage: stage.name, communityId }, record);
        recorded = updated.stages;
        unit += 1;
        if (record.decision === 'failed') {
          const reason = `stage ${stage.name} (${key}) failed: ${record.reason.replace(/^\S+ failed: /, '')}`;
          return this.runs.finish(run.id, 'failed', this.report(updated, communities, `failed: ${reason}`), reason);
        }
        await reporter(1, `${stage.name} (${key}): ${record.decision}`);
      }
    }
    const final = (await this.runs.getRun(run.id))!;
    return this.runs.finish(run.id, 'succeeded', this.report(final, communities, 'succeeded'));
  }

  /** A short human summary: the data, then one line per stage and community. */
  private report(run: TrainingRunEntity, communities: Array<string | null>, headline: string): string {
    const d = run.dataSummary;
    const lines = [`${headline}`, `data: ${d.pairs + d.ties} pairs (${d.ties} ties), ${d.labels} labels, ${d.raters} raters, ${d.dialogues} dialogues, cut-off ${run.dataCutoff.toISOString()}`];
    for (const communityId of communities) {
      const key = communityKey(communityId);
      for (const stage of this.stages) {
        const r = run.stages?.[stage.name]?.[key];
        if (!r) continue;
        // By name: jsonb does not keep key order.
        const metrics = Object.entries(r.metrics)
          .sort(([a], [b]) => a.localeCompare(b))
          .slice(0, 6)
          .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(3)}`)
          .join(' ');
        lines.push(`${stage.name}/${key}: ${r.decision} — ${r.reason}${metrics ? ` [${metrics}]` : ''} (${r.seconds.toFixed(1)} s)`);
      }
    }
    return lines.join('\n');
  }

  private progressReporter(
    runId: string,
    stage: string,
    communityId: string | null,
    unit: number,
    units: number,
    opts: ExecuteOptions,
  ): (fraction: number, message: string) => Promise<void> {
    const interval = this.options.progressIntervalMs ?? 1000;
    let last = 0;
    return async (fraction, message) => {
      const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
      const now = Date.now();
      if (f > 0 && f < 1 && now - last < interval) return;
      last = now;
      const report: PipelineProgress = { fraction: (unit + f) / units, message, stage, communityId };
      await this.runs.reportProgress(runId, report);
      await Promise.resolve(opts.onProgress?.(report)).catch(() => undefined);
    };
  }

  private lockKey(): string {
    const schema = (this.dataSource.options as { schema?: string }).schema ?? 'public';
    return `vca:training:${schema}`;
  }

  private async acquireLock(runId: string, opts: ExecuteOptions): Promise<QueryRunner> {
    const runner = this.dataSource.createQueryRunner();
    const started = Date.now();
    const wait = opts.lockWaitMs ?? 0;
    try {
      for (;;) {
        const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [this.lockKey()])) as [{ locked: boolean }];
        if (locked) return runner;
        if (Date.now() - started >= wait) {
          const [holder] = (await runner.query(
            `SELECT id FROM training_runs WHERE status = 'running' AND id <> $1 ORDER BY heartbeat_at DESC NULLS LAST LIMIT 1`,
            [runId],
          )) as Array<{ id: string }>;
          throw new TrainingBusyError(runId, holder?.id ?? null, Date.now() - started);
        }
        await new Promise((r) => setTimeout(r, Math.min(opts.lockPollMs ?? 1000, Math.max(1, wait - (Date.now() - started)))));
      }
    } catch (err) {
      await runner.release();
      throw err;
    }
  }

  private async releaseLock(runner: QueryRunner): Promise<void> {
    try {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [this.lockKey()]);
    } catch {
      // Releasing the connection below ends nothing; a broken connection has freed the lock already.
    } finally {
      await runner.release();
    }
  }
}

function isEnded(run: TrainingRunEntity): boolean {
  return run.status === 'succeeded' || run.status === 'failed' || run.status === 'skipped';
}

function outcomeOf(r: TrainingStageRecord): TrainingStageOutcome {
  return {
    decision: r.decision as TrainingStageOutcome['decision'],
    reason: r.reason,
    metrics: r.metrics,
    producedVersionId: r.producedVersionId,
    seconds: r.seconds,
  };
}

function checkOutcome(stage: string, outcome: TrainingStageOutcome): TrainingStageOutcome {
  if (!outcome || !DECISIONS.has(outcome.decision)) {
    throw new Error(`stage ${stage} returned no valid decision (${JSON.stringify(outcome?.decision)})`);
  }
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(outcome.metrics ?? {})) if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
  return {
    decision: outcome.decision,
    reason: String(outcome.reason ?? ''),
    metrics,
    producedVersionId: outcome.producedVersionId ?? null,
    seconds: outcome.seconds,
  };
}

/** The counts a run records for its snapshot (ties apart, like exports count them). */
export function summarize(data: CuratedData, pairs: readonly PreferencePair[]): TrainingDataSummary {
  return { ...summarizePairs(data, pairs), communities: pairCountsByCommunity(data, pairs) };
}
