import type { GenerationJob } from '@vca/shared';

/** Injection token for `GenerationQueuePort` (the BullMQ adapter lives in @vca/queue). */
export const GENERATION_QUEUE = Symbol('GENERATION_QUEUE');

/** BullMQ job id for a round: enqueueing the same round twice is a no-op. */
export function generationJobId(roundId: string): string {
  return `round-${roundId}`;
}

/**
 * Where the conversation core sends generation work. Implementations must be idempotent per
 * `generationJobId(job.roundId)`: the core re-enqueues queued rounds after a restart.
 */
export interface GenerationQueuePort {
  enqueue(job: GenerationJob): Promise<{ jobId: string }>;
}
