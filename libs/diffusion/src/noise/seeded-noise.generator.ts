import type { NoiseSource } from '../schedulers/scheduler.interface';
import { philox4x32 } from './philox.util';

/**
 * Reproducible Gaussian noise for one candidate.
 *
 * Generator: Philox4x32-10 keyed by (seed, stream); counter = (block index, 0, 0, 0). Each block
 * gives four uint32 u_k, mapped to uniforms in the open interval (0, 1) by (u + ½)/2³², and
 * Box–Muller turns each pair (u₁, u₂) into z₁ = √(−2 ln u₁)·cos 2πu₂, z₂ = √(−2 ln u₁)·sin 2πu₂.
 * Draws are sequential: the pipeline takes the initial latent noise first, then one latent's
 * worth per ancestral step, so a (seed, stream) pair always yields the same sequence.
 *
 * Reproducibility: the integer part is exact everywhere; the float part uses Math.log/cos/sin/
 * sqrt, which V8 implements in software (fdlibm port), so the values are identical across CPUs
 * and operating systems for a given Node major version, and then rounded to float32. The
 * numbers are not the same as torch.randn for the same seed (different generator).
 */
export class SeededNoise implements NoiseSource {
  private block = 0;
  private spare: number[] = [];

  constructor(
    readonly seed: number,
    /** Independent sub-stream (e.g. 0 = latents); defaults to 0. */
    readonly stream = 0,
  ) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be a uint32, got ${seed}`);
  }

  randn(length: number): Float32Array {
    const out = new Float32Array(length);
    let i = 0;
    while (i < length && this.spare.length) out[i++] = this.spare.shift()!;
    while (i < length) {
      const [a, b, c, d] = philox4x32([this.block++, 0, 0, 0], [this.seed, this.stream]);
      const z = [...boxMuller(a, b), ...boxMuller(c, d)];
      while (i < length && z.length) out[i++] = z.shift()!;
      this.spare = z;
    }
    return out;
  }
}

const TWO_POW_32 = 4294967296;

function boxMuller(a: number, b: number): [number, number] {
  const u1 = (a + 0.5) / TWO_POW_32;
  const u2 = (b + 0.5) / TWO_POW_32;
  const r = Math.sqrt(-2 * Math.log(u1));
  const theta = 2 * Math.PI * u2;
  return [r * Math.cos(theta), r * Math.sin(theta)];
}
