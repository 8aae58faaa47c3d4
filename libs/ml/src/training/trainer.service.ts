import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { buildGradientGraph, type GradientGraph } from '../autodiff/gradient-graph.builder';
import { numel } from '../onnx/dtype.util';
import { cloneGraph, type Graph, type TensorData } from '../onnx/graph.model';
import { adamWConfigSchema, AdamW, clipScale } from '../optim/adamw.optimizer';
import { SimdArena } from '../optim/simd-arena';
import { WeightEma } from '../optim/weight-ema.util';
import { learningRate, scheduleConfigSchema } from '../optim/lr-schedule.util';
import { createSession, runtimeOptionsSchema, type SessionHandle } from '../runtime/session.factory';
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
  private readonly arena?: SimdArena;
  rng: Rng;
  step = 0;

  private constructor(
    private readonly forward: Graph,
    readonly gradientGraph: GradientGraph,
    private readonly handle: SessionHandle,
    config: z.output<typeof trainerConfigSchema>,
  ) {
    this.config = config;
    // Weights, gradients, both moments and EMA shadows share one SIMD arena (see optim/simd-arena.ts).
    const floats = [...gradientGraph.initialValues.values()].reduce((a, t) => a + SimdArena.footprint(numel(t.dims)), 0);
    this.arena = SimdArena.create(floats * (config.emaDecay ? 5 : 4));
    this.optimizer = new AdamW(config.optimizer, this.arena);
    this.ema = config.emaDecay ? new WeightEma(config.emaDecay, this.arena) : undefined;
    this.rng = new Rng(config.seed);
    for (const [name, t] of gradientGraph.initialValues) this.params.set(name, this.arena ? this.arena.copy(t.data as Float32Array) : Float32Array.from(t.data as Float32Array));
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
    // Gradient formulations tuned for ORT's CPU NCHWc kernels only where the graph runs on CPU.
    const nchwcBlock = config.runtime.device === 'cuda' || !config.runtime.nchwc ? 0 : undefined;
    const gg = await buildGradientGraph(setup.graph, { loss: setup.loss, wrt: names, feeds: setup.exampleFeeds, inputShapes: setup.inputShapes, nchwcBlock });
    const handle = await createSession(gg.graph, config.runtime);
    return new Trainer(setup.graph, gg, handle, config);
  }

  get device(): 'cpu' | 'cuda' {
    return this.handle.device;
  }

  /**
   * Loss and gradients for one batch, without updating anything. The gradients are the caller's
   * to keep, unless `reuseBuffers`: then they are the trainer's own buffers (in its SIMD arena),
   * which the next step overwrites.
   */
  async lossAndGradients(feeds: Record<string, ort.Tensor>, opts: { reuseBuffers?: boolean } = {}): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
    return this.run(feeds, opts.reuseBuffers ?? false);
  }

  /**
   * Gradient buffers ORT writes into on every training step (pre-allocated outputs): a step
   * then allocates no fresh 4-bytes-per-parameter output arrays for the garbage collector.
   */
  private gradBuffers?: Map<string, ort.Tensor>;

  private async run(feeds: Record<string, ort.Tensor>, reuse: boolean): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
    const all: Record<string, ort.Tensor> = { ...feeds };
    for (const [name, data] of this.params) all[name] = new ort.Tensor('float32', data, this.gradientGraph.initialValues.get(name)!.dims);
    let fetches: Record<string, ort.Tensor | null> | undefined;
    if (reuse) {
      this.gradBuffers ??= new Map(
        Object.entries(this.gradientGraph.gradients).map(([name, gname]) => {
          const dims = this.gradientGraph.initialValues.get(name)!.dims;
          return [gname, new ort.Tensor('float32', this.arena?.alloc(numel(dims)) ?? new Float32Array(numel(dims)), dims)];
        }),
      );
      fetches = Object.fromEntries(this.handle.session.outputNames.map((o) => [o, this.gradBuffers!.get(o) ?? null]));
    }
    const out = fetches ? await this.handle.session.run(all, fetches) : await this.handle.session.run(all);
    const grads = new Map<string, Float32Array>();
    for (const [name, gname] of Object.entries(this.gradientGraph.gradients)) grads.set(name, (this.gradBuffers?.get(gname) ?? out[gname]).data as Float32Array);
    return { loss: Number((out[this.gradientGraph.loss].data as Float32Array)[0]), grads };
  }

  async trainStep(feeds: Record<string, ort.Tensor>): Promise<StepResult> {
    const { loss, grads } = await this.run(feeds, true);
    const lr = learningRate(this.config.optimizer.lr, this.step, this.config.schedule);
    let norm: number;
    if (this.config.clipGradNorm === undefined) {
      // No clipping: the update itself sums g² for the reported norm (one pass over the gradients, not two).
      norm = Math.sqrt(this.optimizer.step(this.params, grads, lr));
    } else {
      const clip = clipScale(grads.values(), this.config.clipGradNorm, this.arena);
      norm = clip.norm;
      this.optimizer.step(this.params, grads, lr, clip.scale);
    }
    this.ema?.update(this.params);
    this.step += 1;
    return { step: this.step, loss, lr, gradNorm: norm };
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
    await this.handle.session.release();
  }
}
