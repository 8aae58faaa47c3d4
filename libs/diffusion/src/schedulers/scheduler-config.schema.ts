import { z } from 'zod';

/**
 * The noise-schedule fields of a diffusers `scheduler_config.json`, as diffusers names them.
 * Unknown keys (`_class_name`, `skip_prk_steps`, …) are ignored so any SD export's config can be
 * read; values we cannot honour are rejected with the field name and the allowed values.
 */
export const SchedulerConfigSchema = z.object({
  num_train_timesteps: z.number().int().positive().default(1000),
  beta_start: z.number().positive().default(0.00085),
  beta_end: z.number().positive().default(0.012),
  beta_schedule: z
    .enum(['linear', 'scaled_linear', 'squaredcos_cap_v2'], {
      error: (issue) => `beta_schedule ${JSON.stringify(issue.input)} is not supported; use linear, scaled_linear or squaredcos_cap_v2`,
    })
    .default('scaled_linear'),
  trained_betas: z.array(z.number()).nullable().default(null),
  prediction_type: z
    .enum(['epsilon', 'v_prediction', 'sample'], {
      error: (issue) => `prediction_type ${JSON.stringify(issue.input)} is not supported; use epsilon, v_prediction or sample`,
    })
    .default('epsilon'),
  timestep_spacing: z
    .enum(['leading', 'trailing', 'linspace'], {
      error: (issue) => `timestep_spacing ${JSON.stringify(issue.input)} is not supported; use leading, trailing or linspace`,
    })
    .default('leading'),
  steps_offset: z.number().int().min(0).default(0),
  /** DDIM: use ᾱ = 1 for the step after the last one (diffusers `set_alpha_to_one`). */
  set_alpha_to_one: z.boolean().default(false),
  clip_sample: z.boolean().default(false),
  clip_sample_range: z.number().positive().default(1),
});

export type SchedulerConfig = Readonly<z.infer<typeof SchedulerConfigSchema>>;
export type SchedulerConfigInput = z.input<typeof SchedulerConfigSchema>;
export type PredictionType = SchedulerConfig['prediction_type'];

export class SchedulerConfigError extends Error {
  override readonly name = 'SchedulerConfigError';
}

/** Validates and freezes a scheduler config (diffusers `register_to_config`). */
export function parseSchedulerConfig(input: unknown): SchedulerConfig {
  const parsed = SchedulerConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SchedulerConfigError(`invalid scheduler config: ${detail}`);
  }
  return Object.freeze(parsed.data);
}
