import { z } from 'zod';

export const EvalArgsSchema = z.object({
  model: z.string().default('models/default'),
  n: z.coerce.number().int().positive().default(500),
  edits: z.coerce.number().int().positive().default(500),
  retrieval: z.coerce.number().int().positive().default(500),
  diversityPrompts: z.coerce.number().int().positive().default(20),
  steps: z.coerce.number().int().positive().default(20),
  guidance: z.coerce.number().min(0).default(4),
  strength: z.coerce.number().gt(0).max(1).default(0.7),
  scheduler: z.enum(['ddim', 'euler_a', 'dpmpp_2m']).default('ddim'),
  seed: z.coerce.number().int().min(0).default(7),
  threads: z.coerce.number().int().min(0).default(0),
  json: z.string().optional(),
});

export type EvalArgs = z.output<typeof EvalArgsSchema>;

/** Whether a run measures what MODEL.md reports: the sizes and the defaults every other setting. */
export function isShippedProtocol(a: EvalArgs): boolean {
  const d = EvalArgsSchema.parse({});
  return a.n >= 500 && a.edits >= 500 && a.retrieval >= 500 && a.diversityPrompts >= d.diversityPrompts && a.steps === d.steps && a.guidance === d.guidance && a.strength === d.strength && a.scheduler === d.scheduler && a.seed === d.seed;
}
