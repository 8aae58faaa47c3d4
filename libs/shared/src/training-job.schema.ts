import { z } from 'zod';

/** Payload of a training job: the nightly schedule or a manual request. */
export const TrainingJobSchema = z.object({
  trigger: z.enum(['nightly', 'manual']),
  /** Train only on moderator-approved labels (otherwise every label not rejected or banned). */
  requireApproval: z.boolean().default(false),
});
export type TrainingJob = z.infer<typeof TrainingJobSchema>;
export type TrainingJobInput = z.input<typeof TrainingJobSchema>;

/** What a training job reports back (the job itself comes in a later issue). */
export const TrainingJobResultSchema = z.object({
  trainingRunId: z.string().min(1),
  status: z.string().min(1),
  /** The data the run would train on. */
  data: z.record(z.string(), z.number()),
});
export type TrainingJobResult = z.infer<typeof TrainingJobResultSchema>;
