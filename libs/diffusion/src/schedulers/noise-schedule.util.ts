import type { SchedulerConfig } from './scheduler-config.schema';

/**
 * β schedules of diffusers' schedulers (`scheduling_ddim.py`, `__init__`), computed in float64.
 * - linear:        β_i = linspace(β_start, β_end, T)                       (Ho et al. 2020, §4)
 * - scaled_linear: β_i = linspace(√β_start, √β_end, T)²                    (Stable Diffusion)
 * - squaredcos_cap_v2: β_i = min(1 − ᾱ(t_{i+1})/ᾱ(t_i), 0.999),
 *   ᾱ(t) = cos²((t + 0.008)/1.008 · π/2)                                   (Nichol & Dhariwal 2021, eq. 17)
 */
export function betaSchedule(config: SchedulerConfig): Float64Array {
  const T = config.num_train_timesteps;
  if (config.trained_betas) {
    if (config.trained_betas.length !== T) {
      throw new Error(`trained_betas has ${config.trained_betas.length} entries, num_train_timesteps is ${T}`);
    }
    return Float64Array.from(config.trained_betas);
  }
  const betas = new Float64Array(T);
  switch (config.beta_schedule) {
    case 'linear':
      for (let i = 0; i < T; i++) betas[i] = lerp(config.beta_start, config.beta_end, i, T);
      return betas;
    case 'scaled_linear':
      for (let i = 0; i < T; i++) betas[i] = lerp(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), i, T) ** 2;
      return betas;
    case 'squaredcos_cap_v2': {
      const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      for (let i = 0; i < T; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), 0.999);
      return betas;
    }
  }
}

/** ᾱ_t = Π_{s≤t} (1 − β_s) (DDPM eq. 4 notation). */
export function alphasCumprod(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length);
  let prod = 1;
  for (let i = 0; i < betas.length; i++) {
    prod *= 1 - betas[i]!;
    out[i] = prod;
  }
  return out;
}

/** Karras σ of a training timestep: σ_t = √((1 − ᾱ_t)/ᾱ_t). */
export function sigmasFromAlphasCumprod(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((a) => Math.sqrt((1 - a) / a));
}

/** numpy.interp for increasing integer grid 0..n-1 (diffusers interpolates σ at fractional t). */
export function interpOnIndexGrid(x: number, values: Float64Array): number {
  if (x <= 0) return values[0]!;
  const last = values.length - 1;
  if (x >= last) return values[last]!;
  const i = Math.floor(x);
  const f = x - i;
  return values[i]! * (1 - f) + values[i + 1]! * f;
}

/** numpy.linspace(start, end, n)[i]. */
export function lerp(start: number, end: number, i: number, n: number): number {
  return n === 1 ? start : start + ((end - start) * i) / (n - 1);
}
