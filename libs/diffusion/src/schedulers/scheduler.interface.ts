import type { SchedulerConfig } from './scheduler-config.schema';

/** Source of standard-normal samples (ancestral samplers draw fresh noise every step). */
export interface NoiseSource {
  randn(length: number): Float32Array;
}

/** Output of one `step` (diffusers `SchedulerOutput`): x_{t-1} and the model's x̂_0. */
export interface SchedulerStepOutput {
  readonly prevSample: Float32Array;
  readonly predOriginalSample: Float32Array;
}

export const SCHEDULER_NAMES = ['ddim', 'euler_a', 'dpmpp_2m'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/**
 * Config-first lifecycle, as in diffusers: the config is frozen at construction; `setTimesteps`
 * must run before `step`; `step` advances an internal step index. Samples are flat Float32Arrays
 * (the scheduler is elementwise, so the shape does not matter).
 */
export interface DiffusionScheduler {
  readonly name: SchedulerName;
  readonly config: SchedulerConfig;
  /** Model evaluations per step (1 for all schedulers here). */
  readonly order: number;
  /** σ of the initial noise (1 for DDIM/DPM-Solver, σ_max-based for Euler). */
  readonly initNoiseSigma: number;
  /** Descending inference timesteps; throws before `setTimesteps`. */
  readonly timesteps: readonly number[];
  setTimesteps(numInferenceSteps: number): void;
  /** img2img: start the loop at this index of `timesteps` (diffusers `set_begin_index`). */
  setBeginIndex(index: number): void;
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): SchedulerStepOutput;
  /** Forward process q(x_t | x_0) at an inference timestep. */
  addNoise(originalSample: Float32Array, noise: Float32Array, timestep: number): Float32Array;
}
