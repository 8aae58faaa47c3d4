import type { DiffusionScheduler } from './scheduler.interface';

/**
 * img2img start point, as diffusers `StableDiffusionImg2ImgPipeline.get_timesteps`:
 * init = min(⌊N·strength⌋, N), t_start = N − init; the loop runs timesteps[t_start·order:].
 * Strength 0 runs no step (the input latent is returned unchanged); strength 1 is text-to-image
 * from pure noise at the first timestep.
 */
export function img2imgStartIndex(numInferenceSteps: number, strength: number, order = 1): number {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`strength must be in [0, 1], got ${strength}`);
  // ε guards ⌊N·s⌋ against values such as 0.7·10 = 6.999999999999999 (diffusers uses Python int()).
  const initTimestep = Math.min(Math.floor(numInferenceSteps * strength + 1e-9), numInferenceSteps);
  return Math.max(numInferenceSteps - initTimestep, 0) * order;
}

/** The remaining timesteps for a strength; also sets the scheduler's begin index. */
export function timestepsForStrength(scheduler: DiffusionScheduler, strength: number): readonly number[] {
  const start = img2imgStartIndex(scheduler.timesteps.length, strength, scheduler.order);
  scheduler.setBeginIndex(start);
  return scheduler.timesteps.slice(start);
}
