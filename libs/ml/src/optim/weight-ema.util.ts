import type { SimdArena } from './simd-arena';

/**
 * Exponential moving average of weights, θ̄ ← d·θ̄ + (1−d)·θ, as used for diffusion sampling
 * weights (Ho et al. 2020, §4; decay 0.9999 there, smaller for short runs).
 */
export class WeightEma {
  readonly shadow = new Map<string, Float32Array>();

  /** With an arena, shadows live there and weights in it are averaged by its SIMD loop. */
  constructor(
    readonly decay: number,
    private readonly arena?: SimdArena,
  ) {
    if (!(decay > 0 && decay < 1)) throw new Error(`EMA decay must be in (0, 1), got ${decay}`);
  }

  /** Sets a shadow to `data` (in place where it already exists). */
  setShadow(name: string, data: Float32Array): void {
    const s = this.shadow.get(name);
    if (s && s.length === data.length) s.set(data);
    else this.shadow.set(name, this.arena ? this.arena.copy(data) : Float32Array.from(data));
  }

  update(params: Map<string, Float32Array>): void {
    const d = this.decay;
    for (const [name, theta] of params) {
      const s = this.shadow.get(name);
      if (!s) {
        this.setShadow(name, theta);
        continue;
      }
      if (this.arena?.owns(s) && this.arena.owns(theta)) {
        this.arena.ema(s, theta, d);
        continue;
      }
      for (let i = 0; i < theta.length; i++) s[i] = d * s[i] + (1 - d) * theta[i];
    }
  }
}
