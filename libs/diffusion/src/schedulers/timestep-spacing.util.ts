import type { SchedulerConfig } from './scheduler-config.schema';

/** numpy.round: round half to even (diffusers rounds its timestep grids with it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Inference timesteps, descending, following diffusers `set_timesteps` and Table 2 of
 * Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed" (arXiv 2305.08891):
 * - linspace: round(linspace(0, T−1, N)) reversed
 * - leading:  (0..N−1)·⌊T/N⌋ reversed, + steps_offset
 * - trailing: round(T − i·T/N) − 1 for i = 0..N−1
 *
 * `extraStep` reproduces DPM-Solver's variant (grid of N+1 points, last one dropped) and `round`
 * = false keeps Euler's fractional linspace grid. Deviation: numpy's `arange(T, 0, -T/N)` yields
 * N+1 points for some N (e.g. 61) because of floating-point error; we always produce N.
 */
export function spacedTimesteps(
  config: SchedulerConfig,
  numInferenceSteps: number,
  options: { extraStep?: boolean; round?: boolean } = {},
): number[] {
  const T = config.num_train_timesteps;
  const N = numInferenceSteps;
  if (!Number.isInteger(N) || N < 1 || N > T) {
    throw new RangeError(`numInferenceSteps must be an integer in [1, ${T}], got ${N}`);
  }
  const grid = options.extraStep ? N + 1 : N;
  const round = options.round ?? true;
  const out: number[] = [];
  switch (config.timestep_spacing) {
    case 'linspace':
      for (let i = grid - 1; i >= 0; i--) {
        const t = grid === 1 ? 0 : ((T - 1) * i) / (grid - 1);
        out.push(round ? roundHalfEven(t) : t);
      }
      break;
    case 'leading': {
      const stepRatio = Math.floor(T / grid);
      for (let i = grid - 1; i >= 0; i--) out.push(i * stepRatio + config.steps_offset);
      break;
    }
    case 'trailing':
      // The trailing grid already has exactly N points, even for DPM-Solver.
      for (let i = 0; i < N; i++) out.push(roundHalfEven(T - (i * T) / N) - 1);
      return out;
  }
  return options.extraStep ? out.slice(0, N) : out;
}
