import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { spinConfig, type SpinOptions } from './session.factory';

/**
 * Data-parallel gradient computation on worker threads: each replica is an ONNX Runtime session
 * over an equal slice of the batch, in its own thread. ORT scales a training step poorly across
 * intra-op threads (its copies — Transpose, Slice, Concat, Pad — run on one thread), while two
 * replicas keep both cores busy with everything: the UNet step at batch 32 on 2 cores took
 * 179 ms as one 2-thread session and 142 ms as two 1-thread replicas of batch 16.
 *
 * Weights are read from, and each replica's gradients written to, a SharedArrayBuffer (a shared
 * SimdArena) at fixed offsets; ORT does not take shared buffers as tensors, so each replica
 * copies them into its own (about 1 ms per 9 MB). The worker is plain JavaScript evaluated from
 * a string, so it runs the same from sources, tests and bundles.
 */

/** A Float32Array's place in the shared buffer. */
export interface SharedSlot {
  name: string;
  byteOffset: number;
  length: number;
  dims: number[];
}

export interface ReplicaPoolOptions {
  /** The encoded gradient graph for one replica's share of the batch. */
  model: Uint8Array;
  replicas: number;
  /** Intra-op threads per replica. */
  threads: number;
  /** How idle intra-op threads wait (matters with more than one thread per replica). */
  spin: SpinOptions;
  shared: SharedArrayBuffer;
  /** Graph inputs read from the shared buffer before every run (the weights). */
  inputs: SharedSlot[];
  /** Per replica: graph outputs written to the shared buffer after every run (the gradients). */
  outputs: SharedSlot[][];
  /** The scalar loss output. */
  loss: string;
}

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const d = workerData;
(async () => {
  const view = (s) => new Float32Array(d.shared, s.byteOffset, s.length);
  const inputs = d.inputs.map((s) => ({ shared: view(s), own: new Float32Array(s.length), s }));
  const outputs = d.outputs.map((s) => ({ shared: view(s), own: new Float32Array(s.length), s }));
  const session = await ort.InferenceSession.create(d.model, {
    intraOpNumThreads: d.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: d.extra,
  });
  const weightTensors = Object.fromEntries(inputs.map((i) => [i.s.name, new ort.Tensor('float32', i.own, i.s.dims)]));
  const fetches = Object.fromEntries(session.outputNames.map((o) => [o, null]));
  for (const o of outputs) fetches[o.s.name] = new ort.Tensor('float32', o.own, o.s.dims);
  parentPort.postMessage({ ready: true });
  parentPort.on('message', async (msg) => {
    try {
      for (const i of inputs) i.own.set(i.shared);
      const feeds = { ...weightTensors };
      for (const f of msg.feeds) feeds[f.name] = new ort.Tensor(f.type, f.data, f.dims);
      const out = await session.run(feeds, fetches);
      for (const o of outputs) o.shared.set(o.own);
      parentPort.postMessage({ loss: Number(out[d.loss].data[0]) });
    } catch (err) {
      parentPort.postMessage({ error: String(err && err.message ? err.message : err) });
    }
  });
})().catch((err) => parentPort.postMessage({ error: String(err && err.message ? err.message : err) }));
`;

type Reply = { ready?: true; loss?: number; error?: string };

export class ReplicaPool {
  /** Why the pool can no longer run (a replica died), if it can't. */
  private broken?: string;

  private releasing = false;

  private constructor(
    private readonly workers: Worker[],
    readonly replicas: number,
  ) {
    // A replica that dies while idle breaks the pool too (a run would wait for it forever).
    for (const w of workers) w.once('exit', (code) => !this.releasing && (this.broken ??= `training replica exited (code ${code})`));
  }

  static async create(o: ReplicaPoolOptions): Promise<ReplicaPool> {
    if (o.outputs.length !== o.replicas) throw new Error(`ReplicaPool: ${o.outputs.length} output slot sets for ${o.replicas} replicas`);
    const ortPath = require.resolve('onnxruntime-node');
    const workers = o.outputs.map(
      (outputs) =>
        new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { ortPath, model: o.model, threads: o.threads, extra: spinConfig(o.spin), shared: o.shared, inputs: o.inputs, outputs, loss: o.loss },
        }),
    );
    const pool = new ReplicaPool(workers, o.replicas);
    try {
      await Promise.all(workers.map((w) => pool.next(w)));
    } catch (err) {
      await pool.release();
      throw err;
    }
    // Idle replicas do not keep the process alive (a pool never released cannot hang its exit);
    // run() holds them while they work.
    for (const w of workers) w.unref();
    return pool;
  }

  /** The next reply of `w`: rejects on a reported error, a worker error or its exit. */
  private next(w: Worker): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const onMessage = (r: Reply) => {
        cleanup();
        if (r.error) reject(new Error(`training replica: ${r.error}`));
        else resolve(r);
      };
      const onError = (err: Error) => {
        cleanup();
        this.broken = `training replica failed: ${err.message}`;
        reject(new Error(this.broken));
      };
      const onExit = (code: number) => {
        cleanup();
        this.broken = `training replica exited (code ${code})`;
        reject(new Error(this.broken));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
    });
  }

  /**
   * Runs every replica on its slice of the batch: each feed of rank ≥ 1 is split evenly along
   * axis 0 (its first dim must be a multiple of the replica count), scalars go to all. Resolves
   * to the replicas' losses once all gradients are in their shared slots.
   */
  async run(feeds: Record<string, ort.Tensor>): Promise<number[]> {
    if (this.broken) throw new Error(`${this.broken}; create the trainer again`);
    const parts = this.workers.map(() => [] as { name: string; type: string; dims: number[]; data: ArrayBufferView }[]);
    const transfer = this.workers.map(() => [] as ArrayBuffer[]);
    for (const [name, t] of Object.entries(feeds)) {
      const dims = [...t.dims];
      const data = t.data as unknown as { length: number; slice(a: number, b: number): ArrayBufferView & { buffer: ArrayBuffer } };
      if (dims.length === 0) {
        for (const p of parts) p.push({ name, type: t.type, dims, data: data.slice(0, data.length) });
        continue;
      }
      if (dims[0] % this.replicas !== 0) throw new Error(`ReplicaPool: input "${name}" has ${dims[0]} rows, not a multiple of ${this.replicas} replicas`);
      const rows = dims[0] / this.replicas;
      const per = data.length / this.replicas;
      parts.forEach((p, r) => {
        const slice = data.slice(r * per, (r + 1) * per);
        p.push({ name, type: t.type, dims: [rows, ...dims.slice(1)], data: slice });
        transfer[r].push(slice.buffer);
      });
    }
    const replies = this.workers.map((w) => this.next(w));
    this.workers.forEach((w, r) => {
      w.ref();
      w.postMessage({ feeds: parts[r] }, transfer[r]);
    });
    try {
      return (await Promise.all(replies)).map((r) => r.loss!);
    } finally {
      // A replica that failed fast leaves the others running: wait for them before unref'ing.
      await Promise.allSettled(replies);
      for (const w of this.workers) w.unref();
    }
  }

  async release(): Promise<void> {
    this.releasing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
