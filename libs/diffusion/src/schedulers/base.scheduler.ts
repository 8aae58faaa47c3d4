import { alphasCumprod, betaSchedule } from './noise-schedule.util';
import { parseSchedulerConfig, type SchedulerConfig, type SchedulerConfigInput } from './scheduler-config.schema';
import type { DiffusionScheduler, NoiseSource, SchedulerName, SchedulerStepOutput } from './scheduler.interface';

/** State shared by the schedulers: frozen config, ᾱ table, timestep grid and step index. */
export abstract class BaseScheduler implements DiffusionScheduler {
  abstract readonly name: SchedulerName;
  readonly config: SchedulerConfig;
  readonly order = 1;
  protected readonly alphasCumprod: Float64Array;
  protected grid: number[] | null = null;
  protected stepIndex: number | null = null;
  protected beginIndex: number | null = null;

  constructor(config: SchedulerConfigInput | SchedulerConfig = {}) {
    this.config = parseSchedulerConfig(config);
    this.alphasCumprod = alphasCumprod(betaSchedule(this.config));
  }

  abstract get initNoiseSigma(): number;
  abstract setTimesteps(numInferenceSteps: number): void;
  abstract step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource): SchedulerStepOutput;
  abstract addNoise(originalSample: Float32Array, noise: Float32Array, timestep: number): Float32Array;

  get timesteps(): readonly number[] {
    return this.requireGrid();
  }

  get numInferenceSteps(): number {
    return this.requireGrid().length;
  }

  setBeginIndex(index: number): void {
    const n = this.requireGrid().length;
    if (!Number.isInteger(index) || index < 0 || index > n) throw new RangeError(`begin index must be in [0, ${n}], got ${index}`);
    this.beginIndex = index;
    this.stepIndex = null;
  }

  scaleModelInput(sample: Float32Array, _timestep: number): Float32Array {
    return sample;
  }

  protected requireGrid(): number[] {
    if (!this.grid) throw new Error(`${this.constructor.name}: call setTimesteps() before using the scheduler`);
    return this.grid;
  }

  /** Current index into `timesteps`, starting at the begin index (diffusers `_init_step_index`). */
  protected currentIndex(timestep: number): number {
    const grid = this.requireGrid();
    if (this.stepIndex === null) this.stepIndex = this.beginIndex ?? 0;
    if (this.stepIndex >= grid.length) throw new Error(`${this.constructor.name}: step() called after the last timestep`);
    if (grid[this.stepIndex] !== timestep) {
      throw new Error(`${this.constructor.name}: expected timestep ${grid[this.stepIndex]} at step ${this.stepIndex}, got ${timestep}`);
    }
    return this.stepIndex;
  }

  /** Index of an inference timestep for `addNoise` (the begin index when set, as diffusers does). */
  protected indexForTimestep(timestep: number): number {
    const grid = this.requireGrid();
    if (this.beginIndex !== null && grid[this.beginIndex] === timestep) return this.beginIndex;
    const i = grid.indexOf(timestep);
    if (i < 0) throw new RangeError(`timestep ${timestep} is not in this scheduler's timesteps`);
    return i;
  }
}
