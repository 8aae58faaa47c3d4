import { BaseScheduler } from './base.scheduler';
import { interpOnIndexGrid, sigmasFromAlphasCumprod } from './noise-schedule.util';
import type { SchedulerStepOutput } from './scheduler.interface';
import { spacedTimesteps } from './timestep-spacing.util';

/**
 * DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", arXiv 2211.01095, Algorithm 2, data
 * prediction, midpoint form), following diffusers `scheduling_dpmsolver_multistep.py` with
 * `algorithm_type="dpmsolver++"`, `solver_order=2`, `solver_type="midpoint"`,
 * `lower_order_final=True`, `final_sigmas_type="zero"`.
 *
 * | code            | paper                                   |
 * |-----------------|-----------------------------------------|
 * | alpha, sigmaT   | α_t, σ_t with α_t = 1/√(σ²+1), σ_t = σ α_t |
 * | lambda          | λ_t = log(α_t/σ_t), half log-SNR         |
 * | h, h0, r0       | h_i = λ_{t_i} − λ_{t_{i−1}}, r_i = h_{i−1}/h_i |
 * | D0, D1          | x_θ(x_{t_{i−1}}) and the first difference (Alg. 2, line 5) |
 */
export class DpmSolverMultistepScheduler extends BaseScheduler {
  readonly name = 'dpmpp_2m' as const;
  private readonly trainSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
  private sigmas: Float64Array | null = null;
  /** x_θ of the previous and current step (diffusers `model_outputs`). */
  private modelOutputs: (Float32Array | null)[] = [null, null];
  private lowerOrderNums = 0;

  get initNoiseSigma(): number {
    return 1;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.grid = spacedTimesteps(this.config, numInferenceSteps, { extraStep: true });
    const sigmas = new Float64Array(this.grid.length + 1); // final σ = 0 ("zero")
    this.grid.forEach((t, i) => (sigmas[i] = interpOnIndexGrid(t, this.trainSigmas)));
    this.sigmas = sigmas;
    this.modelOutputs = [null, null];
    this.lowerOrderNums = 0;
    this.stepIndex = null;
    this.beginIndex = null;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): SchedulerStepOutput {
    const i = this.currentIndex(timestep);
    const n = this.numInferenceSteps;
    // The final step is first order: with final σ = 0 diffusers always sets `lower_order_final`.
    const lowerOrderFinal = i === n - 1;
    const x0 = this.convertModelOutput(modelOutput, sample, i);
    this.modelOutputs = [this.modelOutputs[1]!, x0];
    const prev =
      this.lowerOrderNums < 1 || lowerOrderFinal
        ? this.firstOrderUpdate(x0, sample, i)
        : this.secondOrderUpdate(sample, i);
    if (this.lowerOrderNums < 2) this.lowerOrderNums += 1;
    this.stepIndex! += 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }

  /** x_t = α_t x_0 + σ_t ε at the step's σ. */
  addNoise(originalSample: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const { alpha, sigmaT } = alphaSigma(this.requireSigmas()[this.indexForTimestep(timestep)]!);
    return originalSample.map((x, k) => alpha * x + sigmaT * noise[k]!);
  }

  /** Data prediction x_θ(x_t, t) from ε / v / x_0 model outputs (DPM-Solver++ eq. 7). */
  private convertModelOutput(m: Float32Array, x: Float32Array, i: number): Float32Array {
    const { alpha, sigmaT } = alphaSigma(this.requireSigmas()[i]!);
    switch (this.config.prediction_type) {
      case 'epsilon':
        return x.map((xk, k) => (xk - sigmaT * m[k]!) / alpha);
      case 'v_prediction':
        return x.map((xk, k) => alpha * xk - sigmaT * m[k]!);
      case 'sample':
        return Float32Array.from(m);
    }
  }

  /** DPM-Solver++(1) = DDIM: x_t = (σ_t/σ_s) x_s − α_t (e^{−h} − 1) x_θ (eq. 9 with k = 1). */
  private firstOrderUpdate(x0: Float32Array, x: Float32Array, i: number): Float32Array {
    const sigmas = this.requireSigmas();
    const t = alphaSigma(sigmas[i + 1]!);
    const s = alphaSigma(sigmas[i]!);
    const h = lambda(t) - lambda(s);
    const ratio = t.sigmaT / s.sigmaT;
    const c = -t.alpha * Math.expm1(-h);
    return x.map((xk, k) => ratio * xk + c * x0[k]!);
  }

  /** DPM-Solver++(2M), Algorithm 2 line 5–6, midpoint variant of D1. */
  private secondOrderUpdate(x: Float32Array, i: number): Float32Array {
    const sigmas = this.requireSigmas();
    const t = alphaSigma(sigmas[i + 1]!);
    const s0 = alphaSigma(sigmas[i]!);
    const s1 = alphaSigma(sigmas[i - 1]!);
    const [m1, m0] = this.modelOutputs as [Float32Array, Float32Array];
    const h = lambda(t) - lambda(s0);
    const h0 = lambda(s0) - lambda(s1);
    const r0 = h0 / h;
    const ratio = t.sigmaT / s0.sigmaT;
    const c = -t.alpha * Math.expm1(-h);
    return x.map((xk, k) => {
      const D0 = m0[k]!;
      const D1 = (m0[k]! - m1[k]!) / r0;
      return ratio * xk + c * D0 + 0.5 * c * D1;
    });
  }

  private requireSigmas(): Float64Array {
    this.requireGrid();
    return this.sigmas!;
  }
}

/** α_t = 1/√(σ²+1), σ_t = σ·α_t (diffusers `_sigma_to_alpha_sigma_t`). */
function alphaSigma(sigma: number): { alpha: number; sigmaT: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return { alpha, sigmaT: sigma * alpha };
}

/** λ = log α_t − log σ_t (+∞ at σ = 0, so e^{−h} = 0 on the final step). */
function lambda({ alpha, sigmaT }: { alpha: number; sigmaT: number }): number {
  return Math.log(alpha) - Math.log(sigmaT);
}
