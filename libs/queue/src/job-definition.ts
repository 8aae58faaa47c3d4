import type { z } from 'zod';
import {
  GenerationJobSchema,
  GenerationResultSchema,
  JobName,
  QueueName,
  TrainingJobResultSchema,
  TrainingJobSchema,
} from '@vca/shared';

/**
 * A job kind: queue + name + validated payload and result. Handlers are keyed by the pair, so a
 * payload can never reach a handler written for another shape (style anchor 5, immich `JobOf`).
 */
export interface JobDefinition<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  queue: QueueName;
  name: JobName;
  payload: P;
  result: R;
}

export type JobPayload<D extends JobDefinition> = z.infer<D['payload']>;
export type JobPayloadInput<D extends JobDefinition> = z.input<D['payload']>;
export type JobResult<D extends JobDefinition> = z.infer<D['result']>;

export function defineJob<P extends z.ZodType, R extends z.ZodType>(def: JobDefinition<P, R>): JobDefinition<P, R> {
  return Object.freeze(def);
}

export function jobKey(queue: string, name: string): string {
  return `${queue}/${name}`;
}

/** One round of candidates, bot → GPU server. */
export const GenerateJob = defineJob({
  queue: QueueName.Generation,
  name: JobName.Generate,
  payload: GenerationJobSchema,
  result: GenerationResultSchema,
});

/** The nightly (or manual) training job. */
export const TrainJob = defineJob({
  queue: QueueName.Training,
  name: JobName.Train,
  payload: TrainingJobSchema,
  result: TrainingJobResultSchema,
});

/** Every job the system knows; a worker for a queue must have a handler for each of its jobs. */
export const ALL_JOBS: readonly JobDefinition[] = [GenerateJob, TrainJob];
