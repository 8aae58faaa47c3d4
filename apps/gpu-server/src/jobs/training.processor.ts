import { Injectable, Logger } from '@nestjs/common';
import { TrainingJobSchema, type TrainingJob, type TrainingJobResult } from '@vca/shared';
import { TrainJob, type JobContext } from '@vca/queue';
import { TrainingBusyError, TrainingPipelineService, TrainingRunService, type TrainingRunEntity } from '@vca/core';
import { BaseModelVersion } from '../training/base-model.registrar';
import { JobProcessorFor } from './job-processor.decorator';
import type { JobProcessor } from './job-processor.interface';

/** How long a training job waits for another run (another worker) to finish before giving up. */
export const TRAINING_LOCK_WAIT_MS = 6 * 60 * 60 * 1000;

/**
 * The nightly (or manual) training job: the run of the job's schedule firing (one per trigger and
 * instant, so a retried job finds the same run) executed by the core's TrainingPipelineService —
 * the curated data at the cut-off, every configured stage per community, outcomes recorded as they
 * happen, progress forwarded to the job.
 *
 * A worker SIGKILLed mid-run: BullMQ finds the job stalled and retries it; the retry resumes the
 * same run (stages already recorded are not run again). When the job fails for good, the run is
 * marked failed with the reason (onFinalFailure). A run that ends `failed` because a stage threw is
 * a completed job: the run records the failure, retrying the job would not help.
 */
@Injectable()
@JobProcessorFor(TrainJob)
export class TrainingProcessor implements JobProcessor<typeof TrainJob> {
  private readonly logger = new Logger(TrainingProcessor.name);

  constructor(
    private readonly runs: TrainingRunService,
    private readonly pipeline: TrainingPipelineService,
    private readonly baseModel: BaseModelVersion,
  ) {}

  async handle(job: TrainingJob, ctx: JobContext): Promise<TrainingJobResult> {
    // A scheduled job carries the instant it was due: the data cut-off stays reproducible even
    // when the worker picks it up late.
    const scheduledFor = new Date(ctx.job.timestamp + (ctx.job.delay ?? 0));
    const scheduled = await this.runs.schedule({
      trigger: job.trigger,
      scheduledFor,
      requireApproval: job.requireApproval,
      communityId: job.communityId ?? null,
      baseModelVersionId: this.baseModel.id,
      jobId: ctx.job.id ?? null,
    });
    this.logger.log(`training run ${scheduled.id} (${job.trigger}, attempt ${ctx.attempt}): ${scheduled.status}`);
    try {
      const { run, resumed, alreadyEnded } = await this.pipeline.execute(scheduled.id, {
        lockWaitMs: TRAINING_LOCK_WAIT_MS,
        onProgress: (p) =>
          ctx.reportProgress({
            trainingRunId: scheduled.id,
            stage: p.stage ?? null,
            communityId: p.communityId ?? null,
            fraction: p.fraction,
            message: p.message,
          }),
      });
      this.logger.log(
        `training run ${run.id} ${alreadyEnded ? 'had already ended' : resumed ? 'resumed and ended' : 'ended'}: ${run.status}` +
          (run.report ? `\n${run.report}` : ''),
      );
      return resultOf(run);
    } catch (err) {
      if (!(err instanceof TrainingBusyError)) throw err;
      this.logger.warn(err.message);
      return resultOf(await this.runs.finish(scheduled.id, 'skipped', `skipped: ${err.message}`));
    }
  }

  /** The job failed for good (stalled too often after killed workers, or an error): the run fails. */
  async onFinalFailure(payload: unknown, error: Error, jobId: string): Promise<void> {
    if (!TrainingJobSchema.safeParse(payload).success) return;
    const run = await this.runs.failByJob(jobId, error.message);
    if (run) this.logger.warn(`training run ${run.id} failed for good (job ${jobId}): ${error.message}`);
  }
}

function resultOf(run: TrainingRunEntity): TrainingJobResult {
  const { communities: _communities, ...counts } = run.dataSummary;
  return {
    trainingRunId: run.id,
    status: run.status,
    data: { ...counts },
    stages: Object.fromEntries(
      Object.entries(run.stages ?? {}).map(([stage, byCommunity]) => [
        stage,
        Object.fromEntries(
          Object.entries(byCommunity).map(([community, r]) => [
            community,
            { decision: r.decision, reason: r.reason, metrics: r.metrics, producedVersionId: r.producedVersionId, seconds: r.seconds },
          ]),
        ),
      ]),
    ),
    report: run.report,
  };
}
