import { Queue } from 'bullmq';
import { JobName, QueueName, TrainingJobSchema, type TrainingJobInput } from '@vca/shared';
import { redisOptionsFromUrl, type QueueConnectionOptions } from './redis-connection.util';

/** Id of the nightly job scheduler; upserting under a fixed id keeps exactly one schedule. */
export const NIGHTLY_TRAINING_SCHEDULER_ID = 'nightly-training';

export interface NightlySchedule {
  /** Cron pattern (default 03:00 every day). */
  cron: string;
  tz: string;
}

/**
 * The training queue: a repeatable nightly job (BullMQ job scheduler) plus manual requests.
 * Training runs are long and rare, so a single attempt: a failed night is recorded as a failed
 * training run and the next night tries again.
 */
export class TrainingQueue {
  readonly queue: Queue;

  constructor(opts: QueueConnectionOptions) {
    this.queue = new Queue(QueueName.Training, { connection: redisOptionsFromUrl(opts.redisUrl), prefix: opts.prefix });
    this.queue.on('error', () => undefined);
  }

  /**
   * Creates or updates the nightly schedule. Every GPU server may call this at boot: the fixed
   * scheduler id makes it idempotent, and a changed cron replaces the old one.
   */
  async scheduleNightly(schedule: NightlySchedule): Promise<void> {
    await this.queue.upsertJobScheduler(
      NIGHTLY_TRAINING_SCHEDULER_ID,
      { pattern: schedule.cron, tz: schedule.tz },
      {
        name: JobName.Train,
        data: TrainingJobSchema.parse({ trigger: 'nightly' }),
        opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      },
    );
  }

  async nextNightlyRun(): Promise<Date | null> {
    const scheduler = await this.queue.getJobScheduler(NIGHTLY_TRAINING_SCHEDULER_ID);
    return scheduler?.next ? new Date(scheduler.next) : null;
  }

  async unscheduleNightly(): Promise<boolean> {
    return this.queue.removeJobScheduler(NIGHTLY_TRAINING_SCHEDULER_ID);
  }

  /** A training run requested now (moderators, tests). Returns the job id. */
  async requestRun(input: TrainingJobInput = { trigger: 'manual' }): Promise<string> {
    const job = await this.queue.add(JobName.Train, TrainingJobSchema.parse(input), {
      attempts: 1,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    });
    return job.id!;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
