import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { QueueName } from '@vca/shared';
import { redisOptionsFromUrl } from '@vca/queue';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';

export interface JobStatusView {
  id: string;
  queue: string;
  name: string;
  state: string;
  progress: unknown;
  attemptsMade: number;
  failedReason: string | null;
  result: unknown;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Read-only view of jobs in the queues this server consumes. */
@Injectable()
export class JobLookupService implements OnApplicationShutdown {
  private readonly queues: Queue[];

  constructor(@Inject(GPU_SERVER_CONFIG) config: GpuServerConfig) {
    const connection = redisOptionsFromUrl(config.REDIS_URL);
    this.queues = [QueueName.Generation, QueueName.Training].map((name) => {
      const queue = new Queue(name, { connection, prefix: config.QUEUE_PREFIX });
      queue.on('error', () => undefined);
      return queue;
    });
  }

  async find(id: string): Promise<JobStatusView | null> {
    for (const queue of this.queues) {
      const job = await queue.getJob(id);
      if (!job) continue;
      const iso = (t: number | undefined) => (t ? new Date(t).toISOString() : null);
      return {
        id,
        queue: queue.name,
        name: job.name,
        state: await job.getState(),
        progress: job.progress,
        attemptsMade: job.attemptsMade,
        failedReason: job.failedReason ?? null,
        result: job.returnvalue ?? null,
        createdAt: new Date(job.timestamp).toISOString(),
        startedAt: iso(job.processedOn),
        finishedAt: iso(job.finishedOn),
      };
    }
    return null;
  }

  /** Job counts per queue and state, for the queue-depth gauge (autoscaling, alerts). */
  async counts(): Promise<{ queue: string; counts: Record<string, number> }[]> {
    return Promise.all(
      this.queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts('waiting', 'active', 'delayed', 'failed') })),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
