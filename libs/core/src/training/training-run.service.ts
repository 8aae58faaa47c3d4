import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { TRAINING_RUN_TRIGGERS, type TrainingRunStatus } from '../entities/enums';
import {
  TrainingRunEntity,
  type TrainingDataSummary,
  type TrainingRunProgress,
  type TrainingStageRecord,
} from '../entities/training-run.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { parseInput } from '../errors/parse-input.util';
import { isUuid } from '../errors/uuid.util';
import { communityKey } from '../curation/community.util';
import { CuratedDataService } from '../curation/curated-data.service';

export const ScheduleRunSchema = z.object({
  trigger: z.enum(TRAINING_RUN_TRIGGERS).default('nightly'),
  /** When the schedule fired (default: now). Labels up to this instant form the run's data. */
  scheduledFor: z.date().optional(),
  baseModelVersionId: z.string().uuid().nullable().default(null),
  /** Train only on moderator-approved labels. */
  requireApproval: z.boolean().default(false),
  /** Train this community only (no global model); absent/null = global plus large communities. */
  communityId: z.string().trim().min(3).max(200).nullable().default(null),
  /** The queue job that runs it (its final failure marks the run failed). */
  jobId: z.string().min(1).max(200).nullable().default(null),
});
export type ScheduleRunInput = z.input<typeof ScheduleRunSchema>;

/** The statuses a run ends in. */
export type TrainingRunEndStatus = Extract<TrainingRunStatus, 'succeeded' | 'failed' | 'skipped'>;
const ENDED: readonly TrainingRunStatus[] = ['succeeded', 'failed', 'skipped'];

export interface ScheduledRun {
  run: TrainingRunEntity;
  /** The curated data the run would use (for a repeated schedule firing: what it recorded then). */
  data: TrainingDataSummary;
}

export interface StartedRun {
  run: TrainingRunEntity;
  /** True when the run was already `running`: an earlier attempt died, this one resumes it. */
  resumed: boolean;
}

export interface StageKey {
  stage: string;
  /** null = the global model. */
  communityId: string | null;
}

export interface ProgressReport {
  stage?: string;
  communityId?: string | null;
  fraction: number;
  message: string;
}

const EMPTY_SUMMARY: TrainingDataSummary = { pairs: 0, ties: 0, labels: 0, raters: 0, dialogues: 0, rounds: 0 };

/**
 * Training runs as a state machine (libs/core/README.md, "Training"):
 *
 *   scheduled ──start──▶ running ──finish──▶ succeeded | failed | skipped
 *       │                  ▲   │
 *       └─finish(failed/   └───┘ start again = resume after a killed worker
 *          skipped)
 *
 * Every transition is one conditional UPDATE, so concurrent callers cannot both win; an illegal
 * one throws CoreError INVALID_INPUT naming the run's status. Stage outcomes and progress are
 * written only while the run is `running`.
 */
@Injectable()
export class TrainingRunService {
  constructor(private readonly dataSource: DataSource) {}

  /** Idempotent per (trigger, scheduledFor): a retried or repeated job finds the same run. */
  async schedule(input: ScheduleRunInput = {}): Promise<TrainingRunEntity> {
    const o = parseInput(ScheduleRunSchema, input);
    const cutoff = o.scheduledFor ?? new Date();
    const options = { requireApproval: o.requireApproval, communityId: o.communityId };
    await this.dataSource.query(
      `INSERT INTO training_runs (id, status, trigger, scheduled_for, data_summary, data_cutoff, base_model_version_id, options, job_id)
       VALUES ($1, 'scheduled', $2, $3, $4::jsonb, $3, $5, $6::jsonb, $7)
       ON CONFLICT (trigger, scheduled_for) DO NOTHING`,
      [randomUUID(), o.trigger, cutoff, JSON.stringify(EMPTY_SUMMARY), o.baseModelVersionId, JSON.stringify(options), o.jobId],
    );
    if (o.jobId !== null) {
      // A run not yet ended follows the job that runs it now.
      await this.dataSource.query(
        `UPDATE training_runs SET job_id = $3 WHERE trigger = $1 AND scheduled_for = $2 AND status IN ('scheduled', 'running')`,
        [o.trigger, cutoff, o.jobId],
      );
    }
    return this.dataSource.getRepository(TrainingRunEntity).findOneByOrFail({ trigger: o.trigger, scheduledFor: cutoff });
  }

  /**
   * Records a run that only counts its data and ends `skipped` at once (no training): what the
   * nightly job did before the pipeline existed; kept for callers that want the counts alone.
   * Idempotent per (trigger, scheduledFor) like `schedule`.
   */
  async recordScheduledRun(input: ScheduleRunInput = {}): Promise<ScheduledRun> {
    const scheduled = await this.schedule(input);
    if (scheduled.status !== 'scheduled') return { run: scheduled, data: scheduled.dataSummary };
    const data = await new CuratedDataService(this.dataSource).summarize({
      cutoff: scheduled.dataCutoff,
      requireApproval: scheduled.options?.requireApproval ?? false,
      ...(scheduled.options?.communityId ? { communityId: scheduled.options.communityId } : {}),
    });
    await this.recordData(scheduled.id, data);
    const run = await this.finish(scheduled.id, 'skipped', 'skipped: data counted only (no training requested).');
    return { run, data: run.dataSummary };
  }

  /**
   * scheduled → running (attempts + 1, started_at set), or running → running: the resume of a run
   * whose worker died. The caller must hold the training lock (TrainingPipelineService does), so a
   * `running` run found here has no live worker.
   */
  async start(runId: string): Promise<StartedRun> {
    // pg gives an UPDATE's result as [rows, rowCount] through TypeORM.
    const [returned] = (await this.dataSource.query(
      `UPDATE training_runs t SET status = 'running', attempts = t.attempts + 1,
              started_at = COALESCE(t.started_at, now()), heartbeat_at = now()
         FROM (SELECT id, status AS before FROM training_runs WHERE id = $1 FOR UPDATE) old
        WHERE t.id = old.id AND t.status IN ('scheduled', 'running')
        RETURNING old.before`,
      [this.checkId(runId)],
    )) as [Array<{ before: TrainingRunStatus }>, number];
    if (returned.length === 0) await this.refuse(runId, 'start');
    return { run: await this.getOrThrow(runId), resumed: returned[0]!.before === 'running' };
  }

  /** Records how one stage ended for one community (`stages[stage][community | 'global']`). */
  async recordStage(runId: string, key: StageKey, record: TrainingStageRecord): Promise<TrainingRunEntity> {
    const community = communityKey(key.communityId);
    const [, affected] = (await this.dataSource.query(
      `UPDATE training_runs SET
              stages = stages || jsonb_build_object($2::text, COALESCE(stages -> $2::text, '{}'::jsonb) || jsonb_build_object($3::text, $4::jsonb)),
              produced_model_version_id = CASE WHEN $5::uuid IS NOT NULL THEN $5::uuid ELSE produced_model_version_id END,
              heartbeat_at = now()
        WHERE id = $1 AND status = 'running'`,
      [this.checkId(runId), key.stage, community, JSON.stringify(record), record.decision === 'promoted' ? record.producedVersionId : null],
    )) as [unknown, number];
    if (affected === 0) await this.refuse(runId, 'record a stage of');
    return this.getOrThrow(runId);
  }

  /** The latest progress of a running run (also its heartbeat). False when the run is not running. */
  async reportProgress(runId: string, p: ProgressReport): Promise<boolean> {
    const progress: TrainingRunProgress = {
      ...(p.stage !== undefined ? { stage: p.stage } : {}),
      ...(p.communityId !== undefined ? { communityId: p.communityId } : {}),
      fraction: Math.min(1, Math.max(0, Number.isFinite(p.fraction) ? p.fraction : 0)),
      message: p.message.slice(0, 500),
      at: new Date().toISOString(),
    };
    const [, affected] = (await this.dataSource.query(
      `UPDATE training_runs SET progress = $2::jsonb, heartbeat_at = now() WHERE id = $1 AND status = 'running'`,
      [this.checkId(runId), JSON.stringify(progress)],
    )) as [unknown, number];
    return affected > 0;
  }

  /** A sign of life of the attempt running the run (no-op unless running). */
  async heartbeat(runId: string): Promise<void> {
    await this.dataSource.query(`UPDATE training_runs SET heartbeat_at = now() WHERE id = $1 AND status = 'running'`, [this.checkId(runId)]);
  }

  /** The counts of the data snapshot the run trains on (scheduled or running runs only). */
  async recordData(runId: string, summary: TrainingDataSummary): Promise<void> {
    const [, affected] = (await this.dataSource.query(
      `UPDATE training_runs SET data_summary = $2::jsonb WHERE id = $1 AND status IN ('scheduled', 'running')`,
      [this.checkId(runId), JSON.stringify(summary)],
    )) as [unknown, number];
    if (affected === 0) await this.refuse(runId, 'record the data of');
  }

  /**
   * Ends a run: running → succeeded | failed | skipped; scheduled → failed | skipped (it never
   * started: the job failed first, or there was nothing to do). An ended run cannot end again.
   */
  async finish(runId: string, status: TrainingRunEndStatus, report: string, error?: string): Promise<TrainingRunEntity> {
    if (!ENDED.includes(status)) throw new CoreError(CoreErrorCode.InvalidInput, `A run cannot end as "${status}".`, { runId, status });
    const from = status === 'succeeded' ? ['running'] : ['scheduled', 'running'];
    const [, affected] = (await this.dataSource.query(
      `UPDATE training_runs SET status = $2, report = $3, error = $4, finished_at = now(), heartbeat_at = now()
        WHERE id = $1 AND status = ANY($5::text[])`,
      [this.checkId(runId), status, report, error ?? null, from],
    )) as [unknown, number];
    if (affected === 0) await this.refuse(runId, `end as ${status}`);
    return this.getOrThrow(runId);
  }

  /**
   * The job behind a run failed for good (retries or stalls exhausted): its run, if not ended,
   * ends `failed` with the reason. Idempotent (every GPU server hears the failure); returns the
   * run it failed, or null.
   */
  async failByJob(jobId: string, reason: string): Promise<TrainingRunEntity | null> {
    const rows = (await this.dataSource.query(
      `UPDATE training_runs SET status = 'failed', error = $2, finished_at = now(),
              report = COALESCE(report, 'failed: ' || $2)
        WHERE job_id = $1 AND status IN ('scheduled', 'running') RETURNING id`,
      [jobId, reason],
    )) as [Array<{ id: string }>, number];
    const id = rows[0]?.[0]?.id;
    return id ? this.getOrThrow(id) : null;
  }

  async getRun(runId: string): Promise<TrainingRunEntity | null> {
    if (!isUuid(runId)) return null;
    return this.dataSource.getRepository(TrainingRunEntity).findOneBy({ id: runId });
  }

  async listRuns(limit = 50): Promise<TrainingRunEntity[]> {
    return this.dataSource.getRepository(TrainingRunEntity).find({
      order: { createdAt: 'DESC', scheduledFor: 'DESC' },
      take: Math.min(Math.max(limit, 1), 500),
    });
  }

  private checkId(runId: string): string {
    if (!isUuid(runId)) throw new CoreError(CoreErrorCode.InvalidInput, 'No such training run.', { runId });
    return runId;
  }

  private async getOrThrow(runId: string): Promise<TrainingRunEntity> {
    const run = await this.getRun(runId);
    if (!run) throw new CoreError(CoreErrorCode.InvalidInput, 'No such training run.', { runId });
    return run;
  }

  private async refuse(runId: string, what: string): Promise<never> {
    const run = await this.getOrThrow(runId);
    throw new CoreError(CoreErrorCode.InvalidInput, `Cannot ${what} training run ${runId}: it is ${run.status}.`, {
      runId,
      status: run.status,
    });
  }
}
