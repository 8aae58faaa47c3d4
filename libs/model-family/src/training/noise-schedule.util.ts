import { alphasCumprod, betaSchedule, parseSchedulerConfig, type SchedulerConfig } from '@vca/diffusion';
import type { ModelFamilyConfig } from '../model-family.config';

/** The scheduler_config.json the family ships: the training schedule, so sampling matches it. */
export function schedulerConfigOf(c: ModelFamilyConfig): Record<string, unknown> {
  return {
    _class_name: 'DDIMScheduler',
    num_train_timesteps: c.schedule.numTrainTimesteps,
    beta_schedule: 'squaredcos_cap_v2',
    beta_start: 0.0001,
    beta_end: 0.02,
    prediction_type: c.schedule.predictionType,
    // "trailing" starts sampling at t = T−1, where training put pure noise (Lin et al. 2024, §3.3).
    timestep_spacing: 'trailing',
    steps_offset: 0,
    set_alpha_to_one: true,
    clip_sample: false,
    trained_betas: null,
  };
}

/** ᾱ_t of the shipped schedule, computed by the runtime's own code (so training and sampling agree). */
export function trainingAlphasCumprod(c: ModelFamilyConfig): Float64Array {
  const config: SchedulerConfig = parseSchedulerConfig(schedulerConfigOf(c));
  return alphasCumprod(betaSchedule(config));
}
