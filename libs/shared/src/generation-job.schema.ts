import { z } from 'zod';

/**
 * The contract between the bot (producer) and GPU-server workers (consumers) for one round of
 * candidates. Both sides validate with these schemas: the queue is a process boundary.
 */
export const GenerationJobSchema = z.object({
  /** Round id (uuid). The BullMQ job id is derived from it, so enqueueing twice is a no-op. */
  roundId: z.string().uuid(),
  dialogueId: z.string().uuid(),
  /** Pseudonymous id of the user who asked; used for fairness between users. */
  requesterId: z.string().min(1).max(200),
  prompt: z.string().min(1).max(2000),
  negativePrompt: z.string().max(2000).default(''),
  /** One entry per candidate; the array length is the number of candidates. */
  candidates: z
    .array(
      z.object({
        seed: z.number().int().min(0).max(2 ** 32 - 1),
        /** img2img strength in [0, 1]; ignored when there is no init image. */
        strength: z.number().min(0).max(1),
      }),
    )
    .min(1)
    .max(16),
  /** Storage key of the image kept from the previous round (img2img); null for round 1. */
  initImageKey: z.string().min(1).nullable(),
  steps: z.number().int().min(1).max(200),
  guidanceScale: z.number().min(0).max(50),
  scheduler: z.enum(['ddim', 'euler_a', 'dpmpp_2m']).default('ddim'),
  /** LoRA adapters to apply, by model-version id, with their strengths. */
  loras: z.array(z.object({ versionId: z.string().min(1), scale: z.number().min(-4).max(4) })).default([]),
  /**
   * Whose reward model scores the candidates: `discord:<guild>`, `slack:<team>`, `web:local`
   * (the worker falls back to the global reward model). Absent in jobs of older producers.
   */
  communityId: z.string().min(1).max(200).optional(),
  /**
   * Best-of-K: when set and below the number of candidates, the worker generates every
   * candidate, scores them and keeps only the `keep` best (candidate indices 0..keep-1 by rank).
   */
  keep: z.number().int().min(1).max(16).optional(),
});
export type GenerationJob = z.infer<typeof GenerationJobSchema>;
export type GenerationJobInput = z.input<typeof GenerationJobSchema>;

export const GeneratedImageSchema = z.object({
  candidateIndex: z.number().int().min(0),
  seed: z.number().int(),
  strength: z.number(),
  /** Content-addressed storage key (sha256 of the PNG bytes). */
  storageKey: z.string().min(1),
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** The reward model's score and the dual encoder's text–image cosine; absent when unscored. */
  scores: z.object({ reward: z.number(), cosine: z.number() }).optional(),
});
export type GeneratedImage = z.infer<typeof GeneratedImageSchema>;

export const GenerationResultSchema = z.object({
  roundId: z.string().uuid(),
  modelVersion: z.string().min(1),
  loraVersions: z.array(z.string()),
  steps: z.number().int(),
  guidanceScale: z.number(),
  images: z.array(GeneratedImageSchema).min(1),
  elapsedMs: z.number().nonnegative(),
  /** Model-version id of the reward head that scored the images; null = the plain cosine baseline. */
  rewardVersionId: z.string().uuid().nullable().optional(),
  /** Model-version id of the registered base model that generated them, when it is registered. */
  modelVersionId: z.string().uuid().nullable().optional(),
  /** Seconds spent scoring the candidates (0 when unscored). */
  scoringSeconds: z.number().nonnegative().optional(),
});
export type GenerationResult = z.infer<typeof GenerationResultSchema>;

/** Progress reported by a worker while it runs a job (BullMQ job progress). */
export const GenerationProgressSchema = z.object({
  step: z.number().int().min(0),
  totalSteps: z.number().int().min(1),
});
export type GenerationProgress = z.infer<typeof GenerationProgressSchema>;
