import { SeededNoise } from '../noise/seeded-noise.generator';
import { img2imgStartIndex } from '../schedulers/img2img.util';
import { createScheduler } from '../schedulers/scheduler.factory';
import type { SchedulerConfig } from '../schedulers/scheduler-config.schema';
import type { DiffusionScheduler, SchedulerName } from '../schedulers/scheduler.interface';

/** Per-candidate sampling state: its own scheduler (multistep history) and noise stream. */
export interface CandidateState {
  index: number;
  seed: number;
  /** Effective strength (1 for text-to-image). */
  strength: number;
  /** Index into the shared timestep grid where this candidate starts (img2img: N − ⌊N·s⌋). */
  start: number;
  scheduler: DiffusionScheduler;
  noise: SeededNoise;
  latents: Float32Array;
}

export interface CandidateSetup {
  scheduler: SchedulerName;
  schedulerConfig: SchedulerConfig;
  steps: number;
  /** Latent size C·h·w of one image. */
  latentLength: number;
  /** Encoded starting image for img2img (UNet space), or null for text-to-image. */
  initLatent: Float32Array | null;
}

/**
 * Initial latents, as diffusers' pipelines make them:
 * - text-to-image: x_T = σ_init·z (z from the candidate's seed);
 * - img2img: x_{t_start} = addNoise(x_0, z, t_start); strength 0 keeps x_0 (no step runs).
 */
export function createCandidateStates(candidates: readonly { seed: number; strength: number }[], setup: CandidateSetup): CandidateState[] {
  return candidates.map((c, index) => {
    const scheduler = createScheduler(setup.scheduler, setup.schedulerConfig);
    scheduler.setTimesteps(setup.steps);
    const noise = new SeededNoise(c.seed);
    if (!setup.initLatent) {
      const sigma = scheduler.initNoiseSigma;
      return { index, seed: c.seed, strength: 1, start: 0, scheduler, noise, latents: noise.randn(setup.latentLength).map((v) => v * sigma) };
    }
    const start = img2imgStartIndex(setup.steps, c.strength, scheduler.order);
    scheduler.setBeginIndex(start);
    const latents =
      start >= setup.steps
        ? Float32Array.from(setup.initLatent)
        : scheduler.addNoise(setup.initLatent, noise.randn(setup.latentLength), scheduler.timesteps[start]!);
    return { index, seed: c.seed, strength: c.strength, start, scheduler, noise, latents };
  });
}
