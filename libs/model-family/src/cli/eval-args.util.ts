import { z } from 'zod';
import { RECOMMENDED_GUIDANCE } from '../export/recommended-guidance.constant';

export const EvalArgsSchema = z.object({
  model: z.string().default('models/default'),
  n: z.coerce.number().int().positive().default(500),
  edits: z.coerce.number().int().positive().default(500),
  retrieval: z.coerce.number().int().positive().default(500),
  diversityPrompts: z.coerce.number().int().positive().default(20),
  steps: z.coerce.number().int().positive().default(20),
  /** Classifier-free guidance of the eval: the scale exported models recommend (see RECOMMENDED_GUIDANCE). */
  guidance: z.coerce.number().min(0).default(RECOMMENDED_GUIDANCE),
  strength: z.coerce.number().gt(0).max(1).default(0.7),
  scheduler: z.enum(['ddim', 'euler_a', 'dpmpp_2m']).default('ddim'),
  seed: z.coerce.number().int().min(0).default(7),
  threads: z.coerce.number().int().min(0).default(0),
  json: z.string().optional(),
});

export type EvalArgs = z.output<typeof EvalArgsSchema>;

/** Settings that size the run or say where it runs and writes; every other setting must be its default. */
const SIZES = ['n', 'edits', 'retrieval', 'diversityPrompts'] as const;
const PLACE = ['model', 'threads', 'json'] as const;

/**
 * Whether a run measures what MODEL.md reports: at least the default sizes (the 500 prompts,
 * edits and retrieval queries) and the default of every other setting, so a setting added to the
 * schema later counts as part of the protocol without touching this check.
 */
export function isShippedProtocol(a: EvalArgs): boolean {
  const d = EvalArgsSchema.parse({});
  const protocol = (Object.keys(d) as (keyof EvalArgs)[]).filter((k) => !(SIZES as readonly string[]).includes(k) && !(PLACE as readonly string[]).includes(k));
  return SIZES.every((k) => a[k] >= d[k]) && protocol.every((k) => a[k] === d[k]);
}
