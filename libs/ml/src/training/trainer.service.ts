import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { buildGradientGraph, type GradientGraph } from '../autodiff/gradient-graph.builder';
import { numel } from '../onnx/dtype.util';
import { cloneGraph, type Graph, type TensorData } from '../onnx/graph.model';
import { encodeModel } from '../onnx/onnx-codec';
import { adamWConfigSchema, AdamW, clipScale } from '../optim/adamw.optimizer';
import { learningRate, scheduleConfigSchema } from '../optim/lr-schedule.util';
import { SimdArena } from '../optim/simd-arena';
import { WeightEma } from '../optim/weight-ema.util';
import { useNchwcConvs } from '../runtime/nchwc-conv.transform';
import { createSession, runtimeOptionsSchema } from '../runtime/session.factory';
import { ReplicaRunner, SessionRunner, type GradientRunner, type LossAndGradients } from './gradient-runner';
import { Rng } from '../util/random.util';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from './checkpoint.store';

export const trainerConfigSchema = z.object({
  optimizer: adamWConfigSchema.default(adamWConfigSchema.parse({})),
  schedule: scheduleConfigSchema.default(scheduleConfigSchema.parse({})),
  /** Clip the global gradient L2 norm to this value. */
  clipGradNorm: z.number().positive().optional(),
  /** Keep an EMA of the trainable weights with this decay. */
  emaDecay: z.number().gt(0).lt(1).optional(),
  /** Seeds the Rng handed to batch functions (data order, noise). */
  seed: z.number().int().default(0),
  runtime: runtimeOptionsSchema.default(runtimeOptionsSchema.parse({})),
  /**
   * Data-parallel replicas (CPU): worker threads, each an ORT session over an equal slice of every
   * batch with runtime.threads / replicas intra-op threads (see runtime/replica-pool.ts). Only for
   * losses that are a mean over independent examples (no batch statistics, no in-batch contrast):
   * the step's loss and gradients are the replicas' means. Batch sizes must divide evenly.
   */
  replicas: z.number().int().min(1).max(64).default(1),
  /**
   * A step whose loss or gradient norm is not finite (NaN, ±Inf) is skipped: weights, moments and
   * EMA stay as they were. After this many skipped steps in a row the trainer stops with an error
   * instead of skipping more.
   */
  maxSkippedSteps: z.number().int().min(0).default(10),
});
export type TrainerConfig = z.input<typeof trainerConfigSchema>;

export interface TrainerSetup {
  /** Forward graph computing a scalar loss; its float initializers are the candidate weights. */
  graph: Graph;
  loss: string;
  /** Names, or a pattern over initializer names, of the tensors to train; all others stay frozen. */
  trainable: string[] | RegExp;
  /** One example batch (or input shapes) to specialise the backward pass to. */
  exampleFeeds?: Record<string, ort.Tensor>;
  inputShapes?: Record<string, number[]>;
  config?: TrainerConfig;
}

export interface StepResult {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** True when the loss or gradient norm was not finite and nothing was updated. */
  skipped: boolean;
}

export interface Progress extends StepResult {
  totalSteps: number;
  stepsPerSec: number;
}

export interface FitOptions {
  /** Train until this many steps have been done in total (a resumed run continues up to it). */
  steps: number;
  /** Batch for a step; use `rng` (seeded, checkpointed) or derive randomness from `step` for reproducible runs. */
  batch: (step: number, rng: Rng) => Record<string, ort.Tensor>;
  onProgress?: (p: Progress) => void;
  checkpoint?: { dir: string; every: number };
}

/**
 * Training loop over a differentiated ONNX graph: ORT computes loss and gradients, AdamW updates
 * the Float32Array weights here, and checkpoints hold weights, moments, EMA, step and RNG state.
 */
export class Trainer {
  readonly config: z.output<typeof trainerConfigSchema>;
  readonly params = new Map<string, Float32Array>();
  readonly optimizer: AdamW;
  readonly ema?: WeightEma;
  rng: Rng;
  step = 0;
  /** Skipped (non-finite) steps since the last applied one. */
  private skippedInARow = 0;

  private constructor(
    private readonly forward: Graph,
    readonly gradientGraph: GradientGraph,
    private readonly runner: GradientRunner,
    config: z.output<typeof trainerConfigSchema>,
    /** Weights, gradient buffers, both moments and EMA shadows (see optim/simd-arena.ts). */
    private readonly arena: SimdArena | undefined,
    params: Map<string, Float32Array>,
  ) {
    this.config = config;
    this.optimizer = new AdamW(config.optimizer, this.arena);
    this.ema = config.emaDecay ? new WeightEma(config.emaDecay, this.arena) : undefined;
    this.rng = new Rng(config.seed);
    for (const [name, p] of params) this.params.set(name, p);
    this.ema?.update(this.params);
  }

  static async create(setup: TrainerSetup): Promise<Trainer> {
    const config = trainerConfigSchema.parse(setup.config ?? {});
    const names =
      setup.trainable instanceof RegExp
        ? [...setup.graph.initializers.entries()].filter(([k, t]) => t.dtype === 'float32' && (setup.trainable as RegExp).test(k)).map(([k]) => k)
        : setup.trainable;
    if (names.length === 0) throw new Error('Trainer: no trainable tensors selected');
    for (const n of names) {
      const t = setup.graph.initializers.get(n);
      if (!t || t.dtype !== 'float32') throw new Error(`Trainer: "${n}" is not a float32 initializer`);
    }
    const replicas = config.replicas;
    if (replicas > 1 && config.runtime.device !== 'cpu') throw new Error('Trainer: data-parallel replicas are for CPU training (runtime.device "cpu")');
    // Gradient formulations tuned for ORT's CPU NCHWc kernels only where the graph runs on CPU.
    const nchwcBlock = config.runtime.device === 'cuda' || !config.runtime.nchwc ? 0 : undefined;
    // Each replica's graph is specialised to its share of the batch.
    const shard = replicas > 1 ? shardSetup(setup, replicas) : setup;
    const gg = await buildGradientGraph(shard.graph, { loss: setup.loss, wrt: names, feeds: shard.exampleFeeds, inputShapes: shard.inputShapes, nchwcBlock });

    const floats = [...gg.initialValues.values()].reduce((a, t) => a + SimdArena.footprint(numel(t.dims)), 0);
    // Weights, moments, gradients (plus one slot per replica) and EMA shadows.
    const arena = SimdArena.create(floats * (4 + (config.emaDecay ? 1 : 0) + (replicas > 1 ? replicas : 0)), { shared: replicas > 1 });
    const params = new Map([...gg.initialValues].map(([k, t]) => [k, arena ? arena.copy(t.data as Float32Array) : Float32Array.from(t.data as Float32Array)]));
    let runner: GradientRunner;
    if (replicas > 1) {
      if (!arena) throw new Error('Trainer: data-parallel replicas need WebAssembly SIMD and shared memory');
      const model = encodeModel(config.runtime.nchwc ? await useNchwcConvs(gg.graph) : gg.graph).model;
      const threads = Math.max(1, Math.floor((config.runtime.threads || availableParallelism()) / replicas));
      runner = await ReplicaRunner.create({ gg, model, arena, params, replicas, threads, spin: config.runtime });
    } else {
      runner = new SessionRunner(await createSession(gg.graph, config.runtime), gg, arena);
    }
    return new Trainer(setup.graph, gg, runner, config, arena, params);
  }

  get device(): 'cpu' | 'cuda' {
    return this.runner.device;
  }

  /**
   * Loss and gradients for one batch, without updating anything. The gradients are the caller's
   * to keep, unless `reuseBuffers`: then they are the trainer's own buffers (in its SIMD arena),
   * which the next step overwrites.
   */
  async lossAndGradients(feeds: Record<string, ort.Tensor>, opts: { reuseBuffers?: boolean } = {}): Promise<LossAndGradients> {
    return this.runner.run(feeds, this.params, opts.reuseBuffers ?? false);
  }

  /**
   * One training step. A step whose loss or global gradient norm is not finite changes no weight,
   * moment or EMA (the norm is summed before the update, so a NaN gradient never reaches them);
   * it still counts as a step, so the data and the schedule move on. More than
   * config.maxSkippedSteps such steps in a row throw.
   */
  async trainStep(feeds: Record<string, ort.Tensor>): Promise<StepResult> {
    const { loss, grads } = await this.runner.run(feeds, this.params, true);
    const lr = learningRate(this.config.optimizer.lr, this.step, this.config.schedule);
    const clip = clipScale(grads.values(), this.config.clipGradNorm, this.arena);
    this.step += 1;
    if (!Number.isFinite(loss) || !Number.isFinite(clip.norm)) {
      this.skippedInARow += 1;
      if (this.skippedInARow > this.config.maxSkippedSteps) {
        const last = this.step - this.skippedInARow;
        throw new Error(
          `Trainer: ${this.skippedInARow} steps in a row had a non-finite loss or gradient (step ${this.step}: loss ${loss}, gradient norm ${clip.norm}); ` +
            `the weights are those after step ${last}. Lower the learning rate or check the data.`,
        );
      }
      return { step: this.step, loss, lr, gradNorm: clip.norm, skipped: true };
    }
    this.skippedInARow = 0;
    this.optimizer.step(this.params, grads, lr, clip.scale);
    this.ema?.update(this.params);
    return { step: this.step, loss, lr, gradNorm: clip.norm, skipped: false };
  }

  async fit(opts: FitOptions): Promise<StepResult[]> {
    const results: StepResult[] = [];
    const started = performance.now();
    const firstStep = this.step;
    while (this.step < opts.steps) {
      const r = await this.trainStep(opts.batch(this.step, this.rng));
      results.push(r);
      const elapsed = (performance.now() - started) / 1000;
      opts.onProgress?.({ ...r, totalSteps: opts.steps, stepsPerSec: (this.step - firstStep) / Math.max(elapsed, 1e-9) });
      if (opts.checkpoint && this.step % opts.checkpoint.every === 0) this.saveCheckpoint(opts.checkpoint.dir);
    }
    return results;
  }

  private shapes(): Map<string, number[]> {
    return new Map([...this.gradientGraph.initialValues].map(([k, t]) => [k, t.dims]));
  }

  /** Trainable weights (or their EMA) as tensors. */
  weights(which: 'current' | 'ema' = 'current'): Map<string, TensorData> {
    const source = which === 'ema' ? this.ema?.shadow : this.params;
    if (!source) throw new Error('Trainer: EMA is not enabled');
    const shapes = this.shapes();
    return new Map([...source].map(([k, v]) => [k, { dtype: 'float32' as const, dims: shapes.get(k)!, data: Float32Array.from(v) }]));
  }

  /** The forward graph with the trained (or EMA) weights written back into its initializers. */
  trainedGraph(which: 'current' | 'ema' = 'current'): Graph {
    const g = cloneGraph(this.forward);
    for (const [k, t] of this.weights(which)) g.initializers.set(k, t);
    return g;
  }

  saveCheckpoint(dir: string): void {
    const weights = this.weights();
    if (this.ema) for (const [k, t] of this.weights('ema')) weights.set(`ema.${k}`, t);
    const meta: CheckpointMeta = {
      version: 1,
      step: this.step,
      optimizerStep: this.optimizer.t,
      rngState: this.rng.seedState,
      trainable: [...this.params.keys()],
      config: this.config,
    };
    saveCheckpoint(dir, { meta, weights, optimizer: this.optimizer.stateTensors(this.shapes()) });
  }

  /** Restores weights, moments, EMA, step and RNG state so training continues exactly. */
  loadCheckpoint(dir: string): void {
    const c = loadCheckpoint(dir);
    const missing = [...this.params.keys()].filter((k) => !c.weights.has(k));
    if (missing.length) throw new Error(`Checkpoint ${dir} lacks trainable tensors: ${missing.slice(0, 5).join(', ')}`);
    for (const [name, p] of this.params) p.set(c.weights.get(name)!.data as Float32Array);
    if (this.ema) for (const name of this.params.keys()) {
      const s = c.weights.get(`ema.${name}`);
      if (s) this.ema.setShadow(name, s.data as Float32Array);
    }
    this.optimizer.loadState(c.optimizer, c.meta.optimizerStep);
    this.step = c.meta.step;
    this.rng = Rng.fromState(c.meta.rngState);
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}

/**
 * The setup one of `replicas` data-parallel replicas is built from: every fixed batch dimension
 * (declared input shapes, given shapes, example feeds along axis 0) divided by the replica count.
 */
function shardSetup(setup: TrainerSetup, replicas: number): Pick<TrainerSetup, 'graph' | 'exampleFeeds' | 'inputShapes'> {
  const exampleFeeds = setup.exampleFeeds && Object.fromEntries(Object.entries(setup.exampleFeeds).map(([k, t]) => [k, firstShard(k, t, replicas)]));
  // Inputs without an example or a given shape keep their declared one, sharded like the rest.
  const declared = setup.graph.inputs.filter((i) => !exampleFeeds?.[i.name] && i.shape?.every((d) => typeof d === 'number')).map((i) => [i.name, i.shape as number[]] as const);
  const shapes = { ...Object.fromEntries(declared), ...setup.inputShapes };
  const inputShapes = Object.fromEntries(Object.entries(shapes).map(([k, d]) => [k, shardDims(k, d, replicas)]));
  const inputs = setup.graph.inputs.map((i) => (typeof i.shape?.[0] === 'number' ? { ...i, shape: [...shardDims(i.name, [i.shape[0]], replicas), ...i.shape.slice(1)] } : i));
  return { graph: { ...setup.graph, inputs }, exampleFeeds, inputShapes };
}

/** The first of `replicas` equal slices of a feed along axis 0 (scalars whole). */
function firstShard(name: string, t: ort.Tensor, replicas: number): ort.Tensor {
  if (t.dims.length === 0) return t;
  const dims = shardDims(name, [...t.dims], replicas);
  const data = t.data as unknown as { length: number; slice(a: number, b: number): ort.Tensor['data'] };
  return new ort.Tensor(t.type as 'float32', data.slice(0, data.length / replicas) as Float32Array, dims);
}

function shardDims(name: string, dims: number[], replicas: number): number[] {
  if (dims.length === 0) return dims;
  if (dims[0] % replicas !== 0) throw new Error(`Trainer: input "${name}" has ${dims[0]} rows, not a multiple of ${replicas} replicas`);
  return [dims[0] / replicas, ...dims.slice(1)];
}
