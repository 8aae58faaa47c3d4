import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { redisOptionsFromUrl, type QueueConnectionOptions } from './redis-connection.util';
import type { JobRegistry } from './job-handler.registry';

export interface JobWorkerOptions extends QueueConnectionOptions {
  queue: string;
  registry: JobRegistry;
  /** Jobs this process runs at once. */
  concurrency?: number;
  /**
   * How long a job's lock lives without renewal. A worker that dies (SIGKILL, OOM, lost host) stops
   * renewing; after this the stalled-job check moves the job back to waiting for another worker.
   */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (default: lockDuration / 2, at least 500 ms). */
  stalledIntervalMs?: number;
  /** Stalls tolerated before a job fails for good; a crash loop must not retry forever. */
  maxStalledCount?: number;
  /** Called when a job failed and will not be retried again. */
  onFinalFailure?: (job: Job, error: Error) => void | Promise<void>;
  autorun?: boolean;
}

/**
 * A BullMQ worker that dispatches by job name to the registry, validating each payload with the
 * job's schema. A payload that fails validation, or a job nobody handles, can never succeed, so
 * it fails at once (UnrecoverableError) instead of burning its retries.
 */
export function createJobWorker(opts: JobWorkerOptions): Worker {
  opts.registry.assertComplete([opts.queue]);
  const lockDuration = opts.lockDurationMs ?? 30_000;
  const worker = new Worker(
    opts.queue,
    async (job: Job) => {
      const entry = opts.registry.resolve(opts.queue, job.name);
      if (!entry) throw new UnrecoverableError(`no handler for job ${opts.queue}/${job.name}`);
      const parsed = entry.def.payload.safeParse(job.data);
      if (!parsed.success) {
        throw new UnrecoverableError(`invalid payload for ${opts.queue}/${job.name}: ${parsed.error.message}`);
      }
      const result = await entry.handler(parsed.data, {
        job,
        attempt: job.attemptsMade + 1,
        reportProgress: (progress) => job.updateProgress(progress),
      });
      return entry.def.result.parse(result);
    },
    {
      connection: redisOptionsFromUrl(opts.redisUrl),
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 1,
      lockDuration,
      stalledInterval: opts.stalledIntervalMs ?? Math.max(500, Math.floor(lockDuration / 2)),
      maxStalledCount: opts.maxStalledCount ?? 2,
      autorun: opts.autorun ?? true,
    },
  );
  if (opts.onFinalFailure) {
    const onFinal = opts.onFinalFailure;
    worker.on('failed', (job, error) => {
      if (!job) return;
      const attempts = job.opts.attempts ?? 1;
      const final = error instanceof UnrecoverableError || job.attemptsMade >= attempts;
      if (final) void Promise.resolve(onFinal(job, error)).catch(() => undefined);
    });
  }
  return worker;
}
