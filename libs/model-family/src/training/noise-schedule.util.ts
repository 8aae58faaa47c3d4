import { alphasCumprod, betaSchedule, parseSchedulerConfig, type SchedulerConfig } from '@vca/diffusion';
import type { ModelFamilyConfig } from '../model-family.config';

/**
 * β of the shifted cosine schedule: ᾱ from diffusers' squaredcos_cap_v2, then SNR'/SNR = 1/s²,
 * i.e. ᾱ' = ᾱ/(ᾱ + s²(1 − ᾱ)), and β'_t = 1 − ᾱ'_t/ᾱ'_{t−1} (ᾱ'_{−1} = 1).
 */
export function shiftedCosineBetas(T: number, shift: number): number[] {
  const base = alphasCumprod(betaSchedule(parseSchedulerConfig({ num_train_timesteps: T, beta_schedule: 'squaredcos_cap_v2' })));
  const s2 = shift * shift;
  const betas: number[] = [];
  let prev = 1;
  for (let t = 0; t < T; t++) {
    const a = base[t]! / (base[t]! + s2 * (1 - base[t]!));
    betas.push(1 - a / prev);
    prev = a;
  }
  return betas;
}

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
    trained_betas: c.schedule.shift === 1 ? null : shiftedCosineBetas(c.schedule.numTrainTimesteps, c.schedule.shift),
  };
}

/** ᾱ_t of the shipped schedule, computed by the runtime's own code (so training and sampling agree). */
export function trainingAlphasCumprod(c: ModelFamilyConfig): Float64Array {
  const config: SchedulerConfig = parseSchedulerConfig(schedulerConfigOf(c));
  return alphasCumprod(betaSchedule(config));
}
