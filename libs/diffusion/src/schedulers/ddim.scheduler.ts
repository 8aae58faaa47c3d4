import { BaseScheduler } from './base.scheduler';
import type { SchedulerConfig, SchedulerConfigInput } from './scheduler-config.schema';
import type { NoiseSource, SchedulerStepOutput } from './scheduler.interface';
import { spacedTimesteps } from './timestep-spacing.util';

/**
 * DDIM (Song et al. 2021, "Denoising Diffusion Implicit Models", arXiv 2010.02502), following
 * diffusers `scheduling_ddim.py`.
 *
 * | code       | paper                    |
 * |------------|--------------------------|
 * | aT, aPrev  | α_t, α_{t−1} (= ᾱ in DDPM notation) |
 * | predX0     | "predicted x_0"          |
 * | predEps    | ε_θ(x_t)                 |
 * | sigmaT     | σ_t(η), eq. (16)         |
 */
export class DdimScheduler extends BaseScheduler {
  readonly name = 'ddim' as const;
  /** η of eq. (16): 0 is deterministic DDIM, 1 is DDPM-like ancestral sampling. */
  readonly eta: number;
  private readonly finalAlphaCumprod: number;

  constructor(config: SchedulerConfigInput | SchedulerConfig = {}, options: { eta?: number } = {}) {
    super(config);
    this.eta = options.eta ?? 0;
    // diffusers: ᾱ used after the last step is 1 with set_alpha_to_one, otherwise ᾱ_0.
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0]!;
  }

  get initNoiseSigma(): number {
    return 1;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.grid = spacedTimesteps(this.config, numInferenceSteps);
    this.stepIndex = null;
    this.beginIndex = null;
  }

  /** diffusers' `prev_timestep = timestep − T/N`. */
  private previousTimestep(timestep: number): number {
    return timestep - Math.floor(this.config.num_train_timesteps / this.numInferenceSteps);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): SchedulerStepOutput {
    this.currentIndex(timestep);
    // 1. previous step value (= t − 1 in the paper's sub-sequence τ)
    const prevT = this.previousTimestep(timestep);
    // 2. α_t and α_{t−1}
    const aT = this.alphasCumprod[timestep]!;
    const aPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : this.finalAlphaCumprod;
    const bT = 1 - aT;
    // 5. σ_t(η)² = (1 − α_{t−1})/(1 − α_t) · (1 − α_t/α_{t−1}), eq. (16)
    const variance = ((1 - aPrev) / bT) * (1 - aT / aPrev);
    const sigmaT = this.eta * Math.sqrt(variance);
    const dirCoef = Math.sqrt(Math.max(1 - aPrev - sigmaT * sigmaT, 0));
    const { clip_sample: clip, clip_sample_range: range, prediction_type: type } = this.config;

    const n = sample.length;
    const predX0 = new Float32Array(n);
    const prev = new Float32Array(n);
    const sqA = Math.sqrt(aT);
    const sqB = Math.sqrt(bT);
    const sqAPrev = Math.sqrt(aPrev);
    for (let i = 0; i < n; i++) {
      const x = sample[i]!;
      const m = modelOutput[i]!;
      // 3. x̂_0 and ε̂ from the model output, eq. (12)'s "predicted x_0"
      let x0: number;
      let eps: number;
      if (type === 'epsilon') {
        x0 = (x - sqB * m) / sqA;
        eps = m;
      } else if (type === 'v_prediction') {
        // v = √α_t ε − √(1−α_t) x_0 (Salimans & Ho 2022, §4)
        x0 = sqA * x - sqB * m;
        eps = sqA * m + sqB * x;
      } else {
        x0 = m;
        eps = (x - sqA * m) / sqB;
      }
      // 4. optional clipping of x̂_0
      if (clip) {
        x0 = Math.min(Math.max(x0, -range), range);
        if (type !== 'sample') eps = (x - sqA * x0) / sqB;
      }
      predX0[i] = x0;
      // 6.–7. x_{t−1} = √α_{t−1} x̂_0 + √(1 − α_{t−1} − σ_t²) ε̂  (eq. 12)
      prev[i] = sqAPrev * x0 + dirCoef * eps;
    }
    if (this.eta > 0 && sigmaT > 0) {
      if (!noise) throw new Error('DdimScheduler: eta > 0 needs a noise source');
      const z = noise.randn(n);
      for (let i = 0; i < n; i++) prev[i] = prev[i]! + sigmaT * z[i]!;
    }
    this.stepIndex! += 1;
    return { prevSample: prev, predOriginalSample: predX0 };
  }

  /** x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (DDPM eq. 4). */
  addNoise(originalSample: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const a = this.alphasCumprod[timestep];
    if (a === undefined) throw new RangeError(`timestep ${timestep} outside [0, ${this.config.num_train_timesteps})`);
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    return originalSample.map((x, i) => sa * x + sb * noise[i]!);
  }
}
