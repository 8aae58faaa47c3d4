import { z } from 'zod';

/** Payload of a training job: the nightly schedule or a manual request. */
export const TrainingJobSchema = z.object({
  trigger: z.enum(['nightly', 'manual']),
  /** Train only on moderator-approved labels (otherwise every label not rejected or banned). */
  requireApproval: z.boolean().default(false),
  /** Train this community only (`<platform>:<workspace>`); absent = global plus large communities. */
  communityId: z.string().min(3).max(200).optional(),
});
export type TrainingJob = z.infer<typeof TrainingJobSchema>;
export type TrainingJobInput = z.input<typeof TrainingJobSchema>;

/** How one stage ended for one community, as the job reports it. */
export const TrainingStageResultSchema = z.object({
  decision: z.string().min(1),
  reason: z.string(),
  metrics: z.record(z.string(), z.number()),
  producedVersionId: z.string().nullable(),
  seconds: z.number(),
});

/** What a training job reports back: the run, how it ended, its data and its stages' outcomes. */
export const TrainingJobResultSchema = z.object({
  trainingRunId: z.string().min(1),
  /** The run's status: succeeded, failed or skipped (the job itself succeeds in all three). */
  status: z.string().min(1),
  /** Counts of the data snapshot the run used (pairs, ties, labels, raters, dialogues, rounds). */
  data: z.record(z.string(), z.number()),
  /** `stages[stage][community | 'global']`. */
  stages: z.record(z.string(), z.record(z.string(), TrainingStageResultSchema)).default({}),
  /** The run's short summary, when it ended. */
  report: z.string().nullable().optional(),
});
export type TrainingJobResult = z.infer<typeof TrainingJobResultSchema>;
