import { z } from 'zod';
import { SCHEDULER_NAMES } from '../schedulers/scheduler.interface';

/** Anything with the run-time LoRA adapter shape; validated structurally at the boundary. */
const loraLike = z.custom<{ readonly name: string }>((v) => typeof v === 'object' && v !== null && 'modules' in v && 'name' in v, {
  message: 'lora must be a LoraAdapter (LoraAdapter.load / fromSafetensors)',
});

export const GenerateRequestSchema = z.object({
  prompt: z.string().max(10_000),
  negativePrompt: z.string().max(10_000).default(''),
  /** One entry per image. `strength` is the img2img noise level (ignored without `initImage`). */
  candidates: z
    .array(z.object({ seed: z.number().int().min(0).max(0xffffffff), strength: z.number().min(0).max(1).default(1) }))
    .min(1)
    .max(64),
  /** PNG bytes of the starting image (img2img); resized to the model's size when needed. */
  initImage: z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'initImage must be PNG bytes (Uint8Array)' }).optional(),
  /** Image size in pixels; defaults to the model's native size (UNet sample_size × VAE factor). */
  width: z.number().int().positive().max(4096).optional(),
  height: z.number().int().positive().max(4096).optional(),
  steps: z.number().int().min(1).max(1000).default(20),
  /** Classifier-free guidance weight w; ≤ 1 disables guidance (one UNet pass per image). */
  guidanceScale: z.number().min(0).max(100).default(7.5),
  scheduler: z.enum(SCHEDULER_NAMES).default('ddim'),
  loras: z.array(z.object({ lora: loraLike, scale: z.number().min(-16).max(16).default(1) })).default([]),
  onProgress: z.custom<(step: number, total: number) => void>((v) => typeof v === 'function').optional(),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
  /** Free-form label written into the PNG metadata (e.g. a model version id). */
  modelName: z.string().max(200).optional(),
});
export type GenerateRequest = z.input<typeof GenerateRequestSchema>;

export interface GeneratedCandidateImage {
  index: number;
  seed: number;
  /** Effective strength (1 for text-to-image). */
  strength: number;
  width: number;
  height: number;
  /** PNG bytes with the generation parameters in tEXt chunks. */
  png: Uint8Array;
  /** Final latent (UNet space, × VAE scaling factor), [C, h, w]. */
  latent: Float32Array;
}

export interface GenerationTimings {
  totalMs: number;
  textEncoderMs: number;
  vaeEncoderMs: number;
  unetMs: number;
  unetCalls: number;
  /** Mean UNet wall time per denoising step (all candidates and both CFG halves batched). */
  unetStepMs: number;
  vaeDecoderMs: number;
  /** totalMs / number of images. */
  imageMs: number;
  /** Share of wall time spent outside UNet calls (scheduler, tokenizer, VAE, PNG). */
  outsideUnetShare: number;
}

export interface GenerateResult {
  images: GeneratedCandidateImage[];
  timings: GenerationTimings;
}
