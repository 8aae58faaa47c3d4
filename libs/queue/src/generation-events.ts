import type { GenerationProgress, GenerationResult } from '@vca/shared';

/** What the producer side hears about its rounds (from BullMQ QueueEvents). */
export interface GenerationEventMap {
  /** A worker picked the round up (also after a retry or a stalled-job recovery). */
  active: [roundId: string];
  progress: [roundId: string, progress: GenerationProgress];
  completed: [roundId: string, result: GenerationResult];
  /** Failed for good: retries exhausted, stalled too often, or an unrecoverable error. */
  failed: [roundId: string, reason: string];
  /** One attempt failed and the job will be retried after its backoff. */
  retrying: [roundId: string, reason: string];
}

export type GenerationEventName = keyof GenerationEventMap;
export type GenerationEventListener<K extends GenerationEventName> = (...args: GenerationEventMap[K]) => void;
