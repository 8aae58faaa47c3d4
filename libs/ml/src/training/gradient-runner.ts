import * as ort from 'onnxruntime-node';
import type { GradientGraph } from '../autodiff/gradient-graph.builder';
import { numel } from '../onnx/dtype.util';
import type { SimdArena } from '../optim/simd-arena';
import { ReplicaPool, type SharedSlot } from '../runtime/replica-pool';
import type { SessionHandle, SpinOptions } from '../runtime/session.factory';

/** Loss and gradients of one batch. */
export interface LossAndGradients {
  loss: number;
  grads: Map<string, Float32Array>;
}

/**
 * How a Trainer gets loss and gradients for a batch at its current weights: one ORT session in
 * this thread, or data-parallel replicas on worker threads.
 */
export interface GradientRunner {
  readonly device: 'cpu' | 'cuda';
  /**
   * `reuse`: the gradients may be the runner's own buffers (in the trainer's arena), overwritten
   * by the next call; otherwise they are the caller's to keep.
   */
  run(feeds: Record<string, ort.Tensor>, params: Map<string, Float32Array>, reuse: boolean): Promise<LossAndGradients>;
  release(): Promise<void>;
}

/** One session in this thread; with `reuse`, ORT writes the gradients into pre-allocated buffers. */
export class SessionRunner implements GradientRunner {
  private gradBuffers?: Map<string, ort.Tensor>;

  constructor(
    private readonly handle: SessionHandle,
    private readonly gg: GradientGraph,
    private readonly arena?: SimdArena,
  ) {}

  get device(): 'cpu' | 'cuda' {
    return this.handle.device;
  }

  async run(feeds: Record<string, ort.Tensor>, params: Map<string, Float32Array>, reuse: boolean): Promise<LossAndGradients> {
    const all: Record<string, ort.Tensor> = { ...feeds };
    for (const [name, data] of params) all[name] = new ort.Tensor('float32', data, this.gg.initialValues.get(name)!.dims);
    let fetches: Record<string, ort.Tensor | null> | undefined;
    if (reuse) {
      this.gradBuffers ??= new Map(
        Object.entries(this.gg.gradients).map(([name, gname]) => {
          const dims = this.gg.initialValues.get(name)!.dims;
          return [gname, new ort.Tensor('float32', this.arena?.alloc(numel(dims)) ?? new Float32Array(numel(dims)), dims)];
        }),
      );
      fetches = Object.fromEntries(this.handle.session.outputNames.map((o) => [o, this.gradBuffers!.get(o) ?? null]));
    }
    const out = fetches ? await this.handle.session.run(all, fetches) : await this.handle.session.run(all);
    const grads = new Map<string, Float32Array>();
    // Without `reuse` the gradients are ORT's fresh outputs, even once the buffers exist.
    for (const [name, gname] of Object.entries(this.gg.gradients)) grads.set(name, (fetches ? this.gradBuffers!.get(gname)! : out[gname]).data as Float32Array);
    return { loss: Number((out[this.gg.loss].data as Float32Array)[0]), grads };
  }

  release(): Promise<void> {
    return this.handle.session.release();
  }
}

/**
 * Replicas over equal slices of the batch (see runtime/replica-pool.ts). The loss must be a mean
 * over the batch's examples: the step's loss and gradients are then the replicas' means. Weights
 * and gradient slots live in the trainer's shared arena; the mean lands in `grads`.
 */
export class ReplicaRunner implements GradientRunner {
  readonly device = 'cpu' as const;

  /**
   * Starts `replicas` workers on `model` (the encoded gradient graph of one replica's share):
   * they read `params` (views into the shared `arena`) and write into per-replica gradient slots
   * allocated here, as is the buffer for their mean.
   */
  static async create(o: { gg: GradientGraph; model: Uint8Array; arena: SimdArena; params: Map<string, Float32Array>; replicas: number; threads: number; spin: SpinOptions }): Promise<ReplicaRunner> {
    const dims = (k: string) => o.gg.initialValues.get(k)!.dims;
    const slot = (name: string, view: Float32Array, shape: number[]): SharedSlot => ({ name, byteOffset: view.byteOffset, length: view.length, dims: shape });
    const slots = Array.from({ length: o.replicas }, () => new Map([...o.params].map(([k, p]) => [k, o.arena.alloc(p.length)])));
    const mean = new Map([...o.params].map(([k, p]) => [k, o.arena.alloc(p.length)]));
    const pool = await ReplicaPool.create({
      model: o.model,
      replicas: o.replicas,
      threads: o.threads,
      spin: o.spin,
      shared: o.arena.buffer as SharedArrayBuffer,
      inputs: [...o.params].map(([k, v]) => slot(k, v, dims(k))),
      outputs: slots.map((m) => [...m].map(([k, v]) => slot(o.gg.gradients[k], v, dims(k)))),
      loss: o.gg.loss,
    });
    return new ReplicaRunner(pool, o.arena, slots, mean);
  }

  private constructor(
    private readonly pool: ReplicaPool,
    private readonly arena: SimdArena,
    /** Per replica, the gradient slot of each trainable tensor. */
    private readonly slots: Map<string, Float32Array>[],
    /** Where the mean of the replicas' gradients goes. */
    private readonly grads: Map<string, Float32Array>,
  ) {}

  async run(feeds: Record<string, ort.Tensor>, _params: Map<string, Float32Array>, reuse: boolean): Promise<LossAndGradients> {
    const losses = await this.pool.run(feeds);
    const w = 1 / losses.length;
    for (const [name, mean] of this.grads) {
      const [first, second, ...rest] = this.slots.map((s) => s.get(name)!);
      if (!second) mean.set(first);
      else this.arena.axpby(mean, first, second, w, w);
      for (const more of rest) this.arena.axpby(mean, mean, more, 1, w);
    }
    const loss = losses.reduce((a, l) => a + l, 0) * w;
    return { loss, grads: reuse ? this.grads : new Map([...this.grads].map(([k, v]) => [k, Float32Array.from(v)])) };
  }

  release(): Promise<void> {
    return this.pool.release();
  }
}
