import { describe, expect, it } from 'vitest';
import {
  DdimScheduler,
  DpmSolverMultistepScheduler,
  EulerAncestralScheduler,
  alphasCumprod,
  betaSchedule,
  createScheduler,
  img2imgStartIndex,
  parseSchedulerConfig,
  roundHalfEven,
  spacedTimesteps,
  timestepsForStrength,
  type NoiseSource,
} from '../src';

// Stable Diffusion 1.x scheduler_config.json values.
const SD15 = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1, set_alpha_to_one: false } as const;
const TINY = { num_train_timesteps: 3, beta_start: 0.1, beta_end: 0.3, beta_schedule: 'linear', set_alpha_to_one: true } as const;

const constNoise = (v: number): NoiseSource => ({ randn: (n) => new Float32Array(n).fill(v) });

describe('noise schedules', () => {
  it('linear and scaled_linear β by hand', () => {
    const lin = betaSchedule(parseSchedulerConfig(TINY));
    expect(Array.from(lin)).toEqual([0.1, 0.2, 0.30000000000000004].map((x) => expect.closeTo(x, 12)));
    // ᾱ = 0.9, 0.9·0.8, 0.9·0.8·0.7
    expect(Array.from(alphasCumprod(lin)).map((x) => +x.toFixed(12))).toEqual([0.9, 0.72, 0.504]);
    const scaled = betaSchedule(parseSchedulerConfig({ ...TINY, beta_start: 0.01, beta_end: 0.09, beta_schedule: 'scaled_linear' }));
    expect(Array.from(scaled).map((x) => +x.toFixed(12))).toEqual([0.01, 0.04, 0.09]);
  });

  it("SD's σ range is the published 0.0292 … 14.6146", () => {
    const ac = alphasCumprod(betaSchedule(parseSchedulerConfig(SD15)));
    expect(Math.sqrt((1 - ac[999]!) / ac[999]!)).toBeCloseTo(14.6146, 3);
    expect(Math.sqrt((1 - ac[0]!) / ac[0]!)).toBeCloseTo(0.0292, 4);
  });

  it('rejects unsupported values naming the field and the options', () => {
    expect(() => parseSchedulerConfig({ beta_schedule: 'sigmoid' })).toThrow(/beta_schedule.*linear, scaled_linear/);
    expect(() => parseSchedulerConfig({ prediction_type: 'flow' })).toThrow(/prediction_type/);
    expect(() => createScheduler('pndm' as never, {})).toThrow(/ddim, euler_a, dpmpp_2m/);
  });

  it('freezes the config', () => {
    const s = new DdimScheduler(SD15);
    expect(Object.isFrozen(s.config)).toBe(true);
  });
});

describe('timestep spacing', () => {
  const cfg = (spacing: 'leading' | 'trailing' | 'linspace', steps_offset = 0) =>
    parseSchedulerConfig({ ...SD15, timestep_spacing: spacing, steps_offset });

  it('leading / trailing / linspace grids (Lin et al. 2023, Table 2)', () => {
    expect(spacedTimesteps(cfg('leading', 1), 10)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(spacedTimesteps(cfg('trailing'), 10)).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    expect(spacedTimesteps(cfg('linspace'), 10)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    // SD 1.5 with 50 DDIM steps starts at the well-known 981.
    expect(spacedTimesteps(cfg('leading', 1), 50).slice(0, 2)).toEqual([981, 961]);
  });

  it('rounds half to even like numpy (937.5 → 938, 812.5 → 812)', () => {
    expect(roundHalfEven(937.5)).toBe(938);
    expect(roundHalfEven(812.5)).toBe(812);
    expect(spacedTimesteps(cfg('trailing'), 16).slice(0, 4)).toEqual([999, 937, 874, 811]);
  });

  it('always yields N points (numpy arange gives 62 for N = 61)', () => {
    expect(spacedTimesteps(cfg('trailing'), 61)).toHaveLength(61);
    expect(Math.min(...spacedTimesteps(cfg('trailing'), 61))).toBeGreaterThanOrEqual(0);
  });

  it('DPM-Solver uses an N+1 grid and drops its last point', () => {
    // leading: ⌊1000/11⌋ = 90 → 900, 810, …, 90
    const dpm = new DpmSolverMultistepScheduler({ ...SD15, steps_offset: 0 });
    dpm.setTimesteps(10);
    expect(dpm.timesteps).toEqual([900, 810, 720, 630, 540, 450, 360, 270, 180, 90]);
  });

  it('Euler keeps the fractional linspace grid', () => {
    const e = new EulerAncestralScheduler({ ...SD15, timestep_spacing: 'linspace' });
    e.setTimesteps(4);
    expect(e.timesteps).toEqual([999, 666, 333, 0]);
    e.setTimesteps(3);
    expect(e.timesteps).toEqual([999, 499.5, 0]);
  });
});

describe(DdimScheduler.name, () => {
  it('requires setTimesteps before step', () => {
    const s = new DdimScheduler(TINY);
    expect(() => s.step(new Float32Array(1), 2, new Float32Array(1))).toThrow(/setTimesteps/);
  });

  it('one ε step by hand (eq. 12, η = 0)', () => {
    const s = new DdimScheduler(TINY);
    s.setTimesteps(3);
    expect(s.timesteps).toEqual([2, 1, 0]);
    const x = 1, eps = 0.5;
    // t = 2: ᾱ_t = 0.504, ᾱ_{t−1} = 0.72
    const x0 = (x - Math.sqrt(1 - 0.504) * eps) / Math.sqrt(0.504);
    const expected = Math.sqrt(0.72) * x0 + Math.sqrt(1 - 0.72) * eps;
    const out = s.step(Float32Array.of(eps), 2, Float32Array.of(x));
    expect(out.predOriginalSample[0]).toBeCloseTo(x0, 6);
    expect(out.prevSample[0]).toBeCloseTo(expected, 6);
  });

  it('an exact ε model walks the forward process and the final step lands on x̂_0 (set_alpha_to_one)', () => {
    const s = new DdimScheduler(TINY);
    s.setTimesteps(3);
    const x0 = Float32Array.of(0.3, -0.7), eps = Float32Array.of(1.2, -0.4);
    let x = s.addNoise(x0, eps, 2);
    for (const t of s.timesteps) {
      const out = s.step(eps, t, x);
      expect(Array.from(out.predOriginalSample)).toEqual(Array.from(x0).map((v) => expect.closeTo(v, 5)));
      x = out.prevSample;
    }
    expect(Array.from(x)).toEqual(Array.from(x0).map((v) => expect.closeTo(v, 5)));
  });

  it('without set_alpha_to_one the final step lands at ᾱ_0, not on x̂_0', () => {
    const s = new DdimScheduler({ ...TINY, set_alpha_to_one: false });
    s.setTimesteps(3);
    const x0 = 0.3, eps = 1.2;
    let x = s.addNoise(Float32Array.of(x0), Float32Array.of(eps), 2);
    for (const t of s.timesteps) x = s.step(Float32Array.of(eps), t, x).prevSample;
    expect(x[0]).toBeCloseTo(Math.sqrt(0.9) * x0 + Math.sqrt(0.1) * eps, 5);
  });

  it('v_prediction recovers x_0 from v = √ᾱ ε − √(1−ᾱ) x_0', () => {
    const s = new DdimScheduler({ ...TINY, prediction_type: 'v_prediction' });
    s.setTimesteps(3);
    const x0 = 0.3, eps = 1.2, a = 0.504;
    const xt = Math.sqrt(a) * x0 + Math.sqrt(1 - a) * eps;
    const v = Math.sqrt(a) * eps - Math.sqrt(1 - a) * x0;
    const out = s.step(Float32Array.of(v), 2, Float32Array.of(xt));
    expect(out.predOriginalSample[0]).toBeCloseTo(x0, 6);
    expect(out.prevSample[0]).toBeCloseTo(Math.sqrt(0.72) * x0 + Math.sqrt(0.28) * eps, 6);
  });
});

describe('η > 0 and v-prediction in the σ-parameterised samplers', () => {
  it('DDIM η = 1 adds σ_t(η)·z with σ_t² = (1−ᾱ_{t−1})/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_{t−1}) (eq. 16)', () => {
    const s = new DdimScheduler(TINY, { eta: 1 });
    s.setTimesteps(3);
    const x = 1, eps = 0.5, z = 0.3;
    const sigma2 = ((1 - 0.72) / (1 - 0.504)) * (1 - 0.504 / 0.72);
    const x0 = (x - Math.sqrt(1 - 0.504) * eps) / Math.sqrt(0.504);
    const expected = Math.sqrt(0.72) * x0 + Math.sqrt(1 - 0.72 - sigma2) * eps + Math.sqrt(sigma2) * z;
    expect(s.step(Float32Array.of(eps), 2, Float32Array.of(x), constNoise(z)).prevSample[0]).toBeCloseTo(expected, 6);
  });

  it('Euler and DPM-Solver++ recover x_0 exactly from v = α_t ε − σ_t x_0', () => {
    const x0 = 0.4, eps = -1.1;
    const euler = new EulerAncestralScheduler({ ...SD15, prediction_type: 'v_prediction' });
    euler.setTimesteps(10);
    const sigma = euler.stepSigmas[0]!;
    const a = 1 / Math.sqrt(sigma ** 2 + 1);
    // Euler works on x = x_0 + σε (variance exploding); the model sees x·α = α x_0 + σα ε.
    const v = a * eps - sigma * a * x0;
    const out = euler.step(Float32Array.of(v), euler.timesteps[0]!, Float32Array.of(x0 + sigma * eps), constNoise(0));
    expect(out.predOriginalSample[0]).toBeCloseTo(x0, 5);

    const dpm = new DpmSolverMultistepScheduler({ ...SD15, prediction_type: 'v_prediction', timestep_spacing: 'trailing' });
    dpm.setTimesteps(4);
    const ac = alphasCumprod(betaSchedule(parseSchedulerConfig(SD15)))[999]!;
    const [at, st] = [Math.sqrt(ac), Math.sqrt(1 - ac)];
    const o = dpm.step(Float32Array.of(at * eps - st * x0), 999, Float32Array.of(at * x0 + st * eps));
    expect(o.predOriginalSample[0]).toBeCloseTo(x0, 5);
  });
});

describe(EulerAncestralScheduler.name, () => {
  it('one step by hand: σ_up, σ_down from k-diffusion get_ancestral_step', () => {
    const s = new EulerAncestralScheduler({ ...TINY, timestep_spacing: 'linspace' });
    s.setTimesteps(3);
    const ac = [0.9, 0.72, 0.504];
    const sig = ac.map((a) => Math.sqrt((1 - a) / a));
    expect(s.initNoiseSigma).toBeCloseTo(sig[2]!, 6);
    const x = 2, eps = 0.5, z = 0.25;
    // scale_model_input divides by √(σ² + 1)
    expect(s.scaleModelInput(Float32Array.of(x), 2)[0]).toBeCloseTo(x / Math.sqrt(sig[2]! ** 2 + 1), 6);
    const [from, to] = [sig[2]!, sig[1]!];
    const up = Math.sqrt((to ** 2 * (from ** 2 - to ** 2)) / from ** 2);
    const down = Math.sqrt(to ** 2 - up ** 2);
    const x0 = x - from * eps;
    const expected = x + ((x - x0) / from) * (down - from) + z * up;
    const out = s.step(Float32Array.of(eps), 2, Float32Array.of(x), constNoise(z));
    expect(out.prevSample[0]).toBeCloseTo(expected, 5);
  });

  it('the final step (σ → 0) lands on x̂_0 with no noise', () => {
    const s = new EulerAncestralScheduler(SD15);
    s.setTimesteps(5);
    let x: Float32Array = Float32Array.of(3, -1);
    let last = null;
    for (const t of s.timesteps) {
      last = s.step(Float32Array.of(0.1, 0.2), t, x, constNoise(1));
      x = last.prevSample;
    }
    expect(Array.from(x)).toEqual(Array.from(last!.predOriginalSample).map((v) => expect.closeTo(v, 5)));
  });

  it('leading spacing: init σ = √(σ_max² + 1)', () => {
    const s = new EulerAncestralScheduler(SD15);
    s.setTimesteps(10);
    const sMax = s.stepSigmas[0]!;
    expect(s.initNoiseSigma).toBeCloseTo(Math.sqrt(sMax ** 2 + 1), 6);
  });
});

describe(DpmSolverMultistepScheduler.name, () => {
  /** α_t, σ_t of the VP process at an integer training timestep. */
  const vp = (ac: Float64Array, t: number) => ({ a: Math.sqrt(ac[t]!), s: Math.sqrt(1 - ac[t]!) });

  it('first step is DPM-Solver++(1) = DDIM: x_t = α_t x̂_0 + σ_t ε̂', () => {
    const cfg = { ...SD15, timestep_spacing: 'trailing' } as const;
    const s = new DpmSolverMultistepScheduler(cfg);
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([999, 749, 499, 249]);
    const ac = alphasCumprod(betaSchedule(parseSchedulerConfig(cfg)));
    const x = 0.8, eps = 0.3;
    const cur = vp(ac, 999), next = vp(ac, 749);
    const x0 = (x - cur.s * eps) / cur.a;
    const out = s.step(Float32Array.of(eps), 999, Float32Array.of(x));
    expect(out.predOriginalSample[0]).toBeCloseTo(x0, 5);
    expect(out.prevSample[0]).toBeCloseTo(next.a * x0 + next.s * eps, 5);
  });

  it('second step is the 2M update of Algorithm 2 (midpoint form)', () => {
    const cfg = { ...SD15, timestep_spacing: 'trailing' } as const;
    const s = new DpmSolverMultistepScheduler(cfg);
    s.setTimesteps(4);
    const ac = alphasCumprod(betaSchedule(parseSchedulerConfig(cfg)));
    const [p1, p0, pt] = [vp(ac, 999), vp(ac, 749), vp(ac, 499)];
    const lam = (p: { a: number; s: number }) => Math.log(p.a / p.s);
    const x1 = s.step(Float32Array.of(0.3), 999, Float32Array.of(0.8)).prevSample;
    const xPrev0 = (0.8 - p1.s * 0.3) / p1.a; // x̂_0 at step 1
    const xHat0 = (x1[0]! - p0.s * -0.2) / p0.a; // x̂_0 at step 2 (ε̂ = −0.2)
    const h = lam(pt) - lam(p0), r = (lam(p0) - lam(p1)) / h;
    const D = xHat0 + (0.5 / r) * (xHat0 - xPrev0);
    const expected = (pt.s / p0.s) * x1[0]! - pt.a * (Math.exp(-h) - 1) * D;
    const out = s.step(Float32Array.of(-0.2), 749, x1);
    expect(out.prevSample[0]).toBeCloseTo(expected, 4);
  });

  it('the final step (σ = 0) lands on x̂_0, for ε and v prediction', () => {
    for (const prediction_type of ['epsilon', 'v_prediction'] as const) {
      const s = new DpmSolverMultistepScheduler({ ...SD15, prediction_type });
      s.setTimesteps(6);
      let x: Float32Array = Float32Array.of(1.5, -0.5);
      let out = null;
      for (const t of s.timesteps) {
        out = s.step(Float32Array.of(0.2, -0.1), t, x);
        x = out.prevSample;
      }
      expect(Array.from(x)).toEqual(Array.from(out!.predOriginalSample).map((v) => expect.closeTo(v, 5)));
    }
  });
});

describe('img2img helpers', () => {
  it('start index follows get_timesteps: t_start = N − ⌊N·strength⌋', () => {
    expect(img2imgStartIndex(50, 0.8)).toBe(10);
    expect(img2imgStartIndex(10, 0.7)).toBe(3);
    expect(img2imgStartIndex(10, 1)).toBe(0);
    expect(img2imgStartIndex(10, 0)).toBe(10);
    expect(() => img2imgStartIndex(10, 1.5)).toThrow(/strength/);
  });

  it('timestepsForStrength sets the begin index so add_noise and step start there', () => {
    const s = new EulerAncestralScheduler(SD15);
    s.setTimesteps(10);
    const ts = timestepsForStrength(s, 0.5);
    expect(ts).toEqual(s.timesteps.slice(5));
    const sigma = s.stepSigmas[5]!;
    expect(s.addNoise(Float32Array.of(1), Float32Array.of(1), ts[0]!)[0]).toBeCloseTo(1 + sigma, 5);
    expect(() => s.step(Float32Array.of(0), s.timesteps[0]!, Float32Array.of(0), constNoise(0))).toThrow(/expected timestep/);
    expect(timestepsForStrength(s, 0)).toEqual([]);
  });
});
