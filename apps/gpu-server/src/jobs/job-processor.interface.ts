import type { JobContext, JobDefinition, JobPayload, JobResult } from '@vca/queue';

export interface JobProcessor<D extends JobDefinition> {
  handle(payload: JobPayload<D>, ctx: JobContext): Promise<JobResult<D>>;
  /** The job failed for good (retries exhausted or unrecoverable). */
  onFinalFailure?(payload: unknown, error: Error, jobId: string): Promise<void>;
}
