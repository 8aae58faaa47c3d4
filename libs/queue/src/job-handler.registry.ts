import type { Job } from 'bullmq';
import { ALL_JOBS, jobKey, type JobDefinition, type JobPayload, type JobResult } from './job-definition';

export interface JobContext {
  job: Job;
  /** 1 on the first try, 2 on the first retry, … */
  attempt: number;
  /** Reports progress to the producer side (BullMQ job progress → QueueEvents). */
  reportProgress(progress: object | number): Promise<void>;
}

export type JobHandler<D extends JobDefinition> = (
  payload: JobPayload<D>,
  ctx: JobContext,
) => Promise<JobResult<D>>;

export class JobRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobRegistryError';
  }
}

interface Entry {
  def: JobDefinition;
  handler: JobHandler<JobDefinition>;
}

/**
 * Handlers keyed by queue and job name. `assertComplete` runs at boot, before any worker starts:
 * a declared job with no handler stops startup instead of its jobs being dropped, and a second
 * handler for the same job is a wiring mistake (immich `JobRepository.setup`).
 */
export class JobRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly declared: readonly JobDefinition[] = ALL_JOBS) {}

  register<D extends JobDefinition>(def: D, handler: JobHandler<D>): this {
    const key = jobKey(def.queue, def.name);
    if (!this.declared.some((d) => jobKey(d.queue, d.name) === key)) {
      throw new JobRegistryError(`handler registered for undeclared job ${key}`);
    }
    if (this.entries.has(key)) throw new JobRegistryError(`duplicate handler for job ${key}`);
    this.entries.set(key, { def, handler: handler as unknown as JobHandler<JobDefinition> });
    return this;
  }

  /** Throws naming every declared job of these queues that has no handler. */
  assertComplete(queues: readonly string[]): void {
    const missing = this.declared
      .filter((d) => queues.includes(d.queue) && !this.entries.has(jobKey(d.queue, d.name)))
      .map((d) => jobKey(d.queue, d.name));
    if (missing.length > 0) throw new JobRegistryError(`no handler for job(s): ${missing.join(', ')}`);
  }

  resolve(queue: string, name: string): Entry | undefined {
    return this.entries.get(jobKey(queue, name));
  }
}
