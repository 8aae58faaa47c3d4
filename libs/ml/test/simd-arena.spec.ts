import { describe, expect, it } from 'vitest';
import { AdamW, Rng, SimdArena, WeightEma } from '@vca/ml';

describe('SIMD arena (WebAssembly) for the optimizer passes', () => {
  const arena = SimdArena.create(4 * 1000);

  it('assembles and runs on this Node (WebAssembly SIMD)', () => {
    expect(arena).toBeDefined();
  });

  it('AdamW in the arena matches the scalar update, tails (n mod 4) included', () => {
    const rng = new Rng(5);
    for (const n of [1, 7, 64, 130]) {
      const a = SimdArena.create(5 * n + 16)!;
      const theta0 = rng.normalArray(n);
      const fast = new Map([['w', a.copy(theta0)]]);
      const slow = new Map([['w', Float32Array.from(theta0)]]);
      const fastOpt = new AdamW({ lr: 0.01, weightDecay: 0.1 }, a);
      const slowOpt = new AdamW({ lr: 0.01, weightDecay: 0.1 });
      const g = a.alloc(n);
      for (let step = 0; step < 5; step++) {
        g.set(rng.normalArray(n));
        const sumFast = fastOpt.step(fast, new Map([['w', g]]), 0.01, 0.7);
        const sumSlow = slowOpt.step(slow, new Map([['w', Float32Array.from(g)]]), 0.01, 0.7);
        expect(sumFast).toBeCloseTo(sumSlow, 3);
      }
      expect(a.owns(fast.get('w')!)).toBe(true);
      fast.get('w')!.forEach((v, i) => expect(v, `n=${n} i=${i}`).toBeCloseTo(slow.get('w')![i], 5));
      // The moments were placed in the arena too (the SIMD path ran).
      expect(a.owns(fastOpt.stateTensors(new Map()).get('m.w')!.data as Float32Array)).toBe(true);
    }
  });

  it('EMA and Σg² match their scalar forms', () => {
    const a = SimdArena.create(100)!;
    const rng = new Rng(9);
    const theta = a.copy(rng.normalArray(21));
    const ema = new WeightEma(0.9, a);
    const plain = new WeightEma(0.9);
    const copy = Float32Array.from(theta);
    ema.update(new Map([['w', theta]]));
    plain.update(new Map([['w', copy]]));
    theta.set(rng.normalArray(21));
    copy.set(theta);
    ema.update(new Map([['w', theta]]));
    plain.update(new Map([['w', copy]]));
    ema.shadow.get('w')!.forEach((v, i) => expect(v).toBeCloseTo(plain.shadow.get('w')![i], 6));
    expect(a.sumSquares(theta)).toBeCloseTo(theta.reduce((s, v) => s + v * v, 0), 4);
  });

  it('declines sizes beyond 32-bit WebAssembly memory (4 GiB): callers keep their scalar loops', () => {
    expect(SimdArena.create(2 ** 30 + 1)).toBeUndefined();
  });

  it('refuses what does not fit instead of growing (growth would detach every view)', () => {
    const a = SimdArena.create(8)!;
    a.alloc(a.capacity - 4);
    expect(() => a.alloc(8)).toThrow(/do not fit/);
  });
});
