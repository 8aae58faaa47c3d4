import { Injectable, Logger } from '@nestjs/common';
import type { TrainingJob, TrainingJobResult } from '@vca/shared';
import { TrainJob, type JobContext } from '@vca/queue';
import { TrainingRunService } from '@vca/core';
import { JobProcessorFor } from './job-processor.decorator';
import type { JobProcessor } from './job-processor.interface';

/**
 * The nightly (or manual) training job. Training itself comes with a later issue: for now the
 * job records a training run and reports the curated data it would train on.
 */
@Injectable()
@JobProcessorFor(TrainJob)
export class TrainingProcessor implements JobProcessor<typeof TrainJob> {
  private readonly logger = new Logger(TrainingProcessor.name);

  constructor(private readonly runs: TrainingRunService) {}

  async handle(job: TrainingJob, ctx: JobContext): Promise<TrainingJobResult> {
    // A scheduled job carries the instant it was due: the data cut-off stays reproducible even
    // when the worker picks it up late.
    const scheduledFor = new Date(ctx.job.timestamp + (ctx.job.delay ?? 0));
    const { run, data } = await this.runs.recordScheduledRun({
      trigger: job.trigger,
      scheduledFor,
      requireApproval: job.requireApproval,
    });
    this.logger.log(`training run ${run.id} (${job.trigger}) recorded; would use ${JSON.stringify(data)}`);
    return { trainingRunId: run.id, status: run.status, data: { ...data } };
  }
}
