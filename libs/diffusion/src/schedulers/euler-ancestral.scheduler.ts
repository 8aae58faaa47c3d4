import { BaseScheduler } from './base.scheduler';
import { interpOnIndexGrid, sigmasFromAlphasCumprod } from './noise-schedule.util';
import type { NoiseSource, SchedulerStepOutput } from './scheduler.interface';
import { spacedTimesteps } from './timestep-spacing.util';

/**
 * Euler ancestral sampler (Karras et al. 2022, arXiv 2206.00364, Algorithm 2 with ancestral
 * noise as in k-diffusion `sample_euler_ancestral`), following diffusers
 * `scheduling_euler_ancestral_discrete.py`.
 *
 * | code             | paper / k-diffusion         |
 * |------------------|-----------------------------|
 * | sigma            | σ_i, σ = √((1−ᾱ)/ᾱ)         |
 * | sigmaUp, sigmaDown | σ_up, σ_down (`get_ancestral_step`) |
 * | d                | dx/dσ = (x − D(x; σ))/σ, eq. (3) |
 */
export class EulerAncestralScheduler extends BaseScheduler {
  readonly name = 'euler_a' as const;
  private readonly trainSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
  private sigmas: Float64Array | null = null;

  get initNoiseSigma(): number {
    const sigmas = this.requireSigmas();
    let max = 0;
    for (const s of sigmas) max = Math.max(max, s);
    // diffusers: σ_max for linspace/trailing, √(σ_max² + 1) for leading.
    return this.config.timestep_spacing === 'leading' ? Math.sqrt(max * max + 1) : max;
  }

  /** σ at each step, with a final σ = 0 appended. */
  get stepSigmas(): Float64Array {
    return this.requireSigmas();
  }

  setTimesteps(numInferenceSteps: number): void {
    this.grid = spacedTimesteps(this.config, numInferenceSteps, { round: false });
    const sigmas = new Float64Array(this.grid.length + 1);
    this.grid.forEach((t, i) => (sigmas[i] = interpOnIndexGrid(t, this.trainSigmas)));
    this.sigmas = sigmas;
    this.stepIndex = null;
    this.beginIndex = null;
  }

  /** c_in(σ) = 1/√(σ² + 1): the UNet was trained on inputs of unit variance. */
  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.requireSigmas()[this.peekIndex(timestep)]!;
    const c = 1 / Math.sqrt(sigma * sigma + 1);
    return sample.map((x) => x * c);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): SchedulerStepOutput {
    const i = this.currentIndex(timestep);
    const sigmas = this.requireSigmas();
    const sigma = sigmas[i]!;
    const sigmaTo = sigmas[i + 1]!;
    // get_ancestral_step: σ_up = √(σ_to²(σ_from² − σ_to²)/σ_from²), σ_down = √(σ_to² − σ_up²)
    const sigmaUp = Math.sqrt((sigmaTo * sigmaTo * (sigma * sigma - sigmaTo * sigmaTo)) / (sigma * sigma));
    const sigmaDown = Math.sqrt(Math.max(sigmaTo * sigmaTo - sigmaUp * sigmaUp, 0));
    const dt = sigmaDown - sigma;
    const type = this.config.prediction_type;
    const cOut = -sigma / Math.sqrt(sigma * sigma + 1);
    const cSkip = 1 / (sigma * sigma + 1);

    const n = sample.length;
    const predX0 = new Float32Array(n);
    const prev = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const x = sample[k]!;
      const m = modelOutput[k]!;
      // 1. denoised D(x; σ)
      const x0 = type === 'epsilon' ? x - sigma * m : type === 'v_prediction' ? m * cOut + x * cSkip : m;
      predX0[k] = x0;
      // 2. Euler step to σ_down along d = (x − x̂_0)/σ
      prev[k] = x + ((x - x0) / sigma) * dt;
    }
    // 3. ancestral noise: x += σ_up · z
    if (sigmaUp > 0) {
      if (!noise) throw new Error('EulerAncestralScheduler: step() needs a noise source');
      const z = noise.randn(n);
      for (let k = 0; k < n; k++) prev[k] = prev[k]! + z[k]! * sigmaUp;
    }
    this.stepIndex! += 1;
    return { prevSample: prev, predOriginalSample: predX0 };
  }

  /** x_σ = x_0 + σ ε (variance-exploding form used by Karras samplers). */
  addNoise(originalSample: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const sigma = this.requireSigmas()[this.indexForTimestep(timestep)]!;
    return originalSample.map((x, k) => x + noise[k]! * sigma);
  }

  private peekIndex(timestep: number): number {
    const i = this.stepIndex ?? this.beginIndex ?? 0;
    if (this.requireGrid()[i] !== timestep) return this.indexForTimestep(timestep);
    return i;
  }

  private requireSigmas(): Float64Array {
    this.requireGrid();
    return this.sigmas!;
  }
}
