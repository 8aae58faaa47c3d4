import { describe, expect, it } from 'vitest';
import { createScheduler, type NoiseSource, type SchedulerName } from '../src';

/**
 * Seven-step trajectories against values computed with numpy from diffusers' scheduler code paths
 * (reference/scheduler_reference.py; regenerate with `python3 scheduler_reference.py`).
 */
const REFERENCE = {
  ddim_epsilon: [3.3252582135553466, -1.7055730469424764, 0.8098425833064347],
  ddim_v: [0.5319627121920989, -0.27195698872376195, 0.13000286173416856],
  euler_a: [3.5837247044091067, -1.6722174197263369, 2.3707571149196056],
  dpmpp_2m: [3.3382044165398823, -1.709998532516594, 0.8141029420116437],
};

const SD15 = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1, timestep_spacing: 'leading' } as const;

function trajectory(name: SchedulerName, prediction_type: 'epsilon' | 'v_prediction' = 'epsilon'): number[] {
  const s = createScheduler(name, { ...SD15, prediction_type });
  s.setTimesteps(7);
  let k = 0;
  const noise: NoiseSource = { randn: () => Float32Array.of(Math.sin(k + 1), Math.cos(k + 1), 0.5) };
  let x: Float32Array = Float32Array.from([1, -0.5, 0.25], (v) => v * s.initNoiseSigma);
  for (const t of s.timesteps) {
    const input = s.scaleModelInput(x, t);
    x = s.step(input.map((v) => 0.3 * v + (0.01 * t) / 1000), t, x, noise).prevSample;
    k++;
  }
  return Array.from(x);
}

describe('schedulers against the numpy reference', () => {
  const close = (ref: number[]) => ref.map((v) => expect.closeTo(v, 4));
  it('DDIM (ε and v)', () => {
    expect(trajectory('ddim')).toEqual(close(REFERENCE.ddim_epsilon));
    expect(trajectory('ddim', 'v_prediction')).toEqual(close(REFERENCE.ddim_v));
  });
  it('Euler ancestral', () => expect(trajectory('euler_a')).toEqual(close(REFERENCE.euler_a)));
  it('DPM-Solver++(2M)', () => expect(trajectory('dpmpp_2m')).toEqual(close(REFERENCE.dpmpp_2m)));
});
