/**
 * Exponential moving average of weights, θ̄ ← d·θ̄ + (1−d)·θ, as used for diffusion sampling
 * weights (Ho et al. 2020, §4; decay 0.9999 there, smaller for short runs).
 */
export class WeightEma {
  readonly shadow = new Map<string, Float32Array>();

  constructor(readonly decay: number) {
    if (!(decay > 0 && decay < 1)) throw new Error(`EMA decay must be in (0, 1), got ${decay}`);
  }

  update(params: Map<string, Float32Array>): void {
    const d = this.decay;
    for (const [name, theta] of params) {
      const s = this.shadow.get(name);
      if (!s) {
        this.shadow.set(name, Float32Array.from(theta));
        continue;
      }
      for (let i = 0; i < theta.length; i++) s[i] = d * s[i] + (1 - d) * theta[i];
    }
  }
}
