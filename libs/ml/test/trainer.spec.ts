import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { AdamW, adamWGraphScalars, clipScale, appendAdamW, buildGradientGraph, createSession, encodeModel, GraphBuilder, Layers, learningRate, ReplicaPool, Rng, Trainer, type TrainerConfig } from '@vca/ml';

const BATCH = 64;

/** 2 → 32 → 32 → 1 tanh MLP with an MSE loss against `y`. */
function regressionGraph() {
  const g = new GraphBuilder('mlp');
  const l = new Layers(g, new Rng(5));
  const x = g.input('x', 'float32', [BATCH, 2]);
  const y = g.input('y', 'float32', [BATCH, 1]);
  const h = g.tanh(l.linear('fc2', g.tanh(l.linear('fc1', x, 2, 32)), 32, 32));
  const d = g.sub(l.linear('head', h, 32, 1), y);
  g.op('ReduceMean', [g.mul(d, d)], { keepdims: 0 }, 'loss');
  g.output('loss', 'float32', []);
  return g.build();
}

/** Generated task: y = sin(3·x₁)·x₂ + ½x₁ on x ~ U[−1, 1]². */
function batch(_step: number, rng: Rng) {
  const x = rng.uniformArray(BATCH * 2, -1, 1);
  const y = new Float32Array(BATCH);
  for (let i = 0; i < BATCH; i++) y[i] = Math.sin(3 * x[2 * i]) * x[2 * i + 1] + 0.5 * x[2 * i];
  return { x: new ort.Tensor('float32', x, [BATCH, 2]), y: new ort.Tensor('float32', y, [BATCH, 1]) };
}

const config: TrainerConfig = {
  optimizer: { lr: 1e-2, weightDecay: 1e-4 },
  schedule: { warmupSteps: 20, totalSteps: 400, minLr: 1e-4 },
  clipGradNorm: 1,
  emaDecay: 0.9,
  seed: 11,
  runtime: { threads: 1 },
};

describe('Trainer', () => {
  it('trains a small MLP on a generated regression task to MSE < 0.01', async () => {
    const trainer = await Trainer.create({ graph: regressionGraph(), loss: 'loss', trainable: /\.(weight|bias)$/, config });
    const progress: number[] = [];
    const results = await trainer.fit({ steps: 400, batch, onProgress: (p) => p.step % 100 === 0 && progress.push(p.stepsPerSec) });
    const first = results[0].loss;
    const last = results.slice(-20).reduce((a, r) => a + r.loss, 0) / 20;
    expect(first).toBeGreaterThan(0.1);
    expect(last).toBeLessThan(0.01);
    expect(progress).toHaveLength(4);
    expect(progress.every((s) => s > 0)).toBe(true);
    await trainer.release();
  });

  it('resumes from a checkpoint bit-identically to an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-ckpt-'));
    const setup = { graph: regressionGraph(), loss: 'loss', trainable: /\.(weight|bias)$/, config };
    const straight = await Trainer.create(setup);
    await straight.fit({ steps: 30, batch });

    const first = await Trainer.create(setup);
    await first.fit({ steps: 15, batch, checkpoint: { dir, every: 15 } });
    const resumed = await Trainer.create(setup);
    resumed.loadCheckpoint(dir);
    expect(resumed.step).toBe(15);
    await resumed.fit({ steps: 30, batch });

    for (const [name, p] of straight.params) expect(resumed.params.get(name), name).toEqual(p);
    for (const [name, p] of straight.ema!.shadow) expect(resumed.ema!.shadow.get(name), `ema ${name}`).toEqual(p);
    expect(resumed.optimizer.t).toBe(30);
    await Promise.all([straight.release(), first.release(), resumed.release()]);
  });

  it('reports the global gradient norm with and without clipping', async () => {
    const feeds = batch(0, new Rng(5));
    for (const clipGradNorm of [undefined, 1e-3]) {
      const trainer = await Trainer.create({ graph: regressionGraph(), loss: 'loss', trainable: /weight$/, exampleFeeds: feeds, config: { clipGradNorm, runtime: { threads: 1 } } });
      const { grads } = await trainer.lossAndGradients(feeds);
      const expected = clipScale(grads.values()).norm;
      expect((await trainer.trainStep(feeds)).gradNorm).toBeCloseTo(expected, 5);
    }
  });

  it('skips a step whose loss is not finite: weights, moments and EMA stay, and the next step trains', async () => {
    const trainer = await Trainer.create({ graph: regressionGraph(), loss: 'loss', trainable: /\.(weight|bias)$/, config });
    await trainer.fit({ steps: 3, batch });
    const before = trainer.weights();
    const ema = trainer.weights('ema');
    const updates = trainer.optimizer.t;
    const bad = batch(3, trainer.rng);
    (bad.y.data as Float32Array)[7] = Number.NaN;
    const r = await trainer.trainStep(bad);
    expect(r).toMatchObject({ step: 4, skipped: true });
    expect(r.loss).toBeNaN();
    expect(trainer.optimizer.t).toBe(updates);
    for (const [k, t] of trainer.weights()) expect(t.data).toEqual(before.get(k)!.data);
    for (const [k, t] of trainer.weights('ema')) expect(t.data).toEqual(ema.get(k)!.data);
    const next = await trainer.trainStep(batch(4, trainer.rng));
    expect(next).toMatchObject({ step: 5, skipped: false });
    expect(trainer.optimizer.t).toBe(updates + 1);
    expect(trainer.weights().get('head.weight')!.data).not.toEqual(before.get('head.weight')!.data);
    await trainer.release();
  });

  it('skips a step with a finite loss but a non-finite gradient, and gives up after maxSkippedSteps in a row', async () => {
    // loss = Σ √(w·x): at x = 0 the loss is 0 but ∂loss/∂w = x / (2√(w·x)) is 0/0.
    const g = new GraphBuilder('sqrt');
    const x = g.input('x', 'float32', [2]);
    g.initializer('w', [1, 2], [2]);
    g.op('ReduceSum', [g.sqrt(g.mul('w', x))], { keepdims: 0 }, 'loss');
    g.output('loss', 'float32', []);
    const trainer = await Trainer.create({ graph: g.build(), loss: 'loss', trainable: ['w'], config: { maxSkippedSteps: 2, runtime: { threads: 1 } } });
    const feed = (v: number) => ({ x: new ort.Tensor('float32', Float32Array.of(v, v), [2]) });
    expect(await trainer.trainStep(feed(4))).toMatchObject({ skipped: false });
    const w = Float32Array.from(trainer.params.get('w')!);
    const first = await trainer.trainStep(feed(0));
    expect(first.loss).toBe(0);
    expect(first.gradNorm).toBeNaN();
    expect(first.skipped).toBe(true);
    expect(await trainer.trainStep(feed(0))).toMatchObject({ skipped: true });
    await expect(trainer.trainStep(feed(0))).rejects.toThrow(/3 steps in a row had a non-finite loss or gradient.*the weights are those after step 1/);
    expect(trainer.params.get('w')).toEqual(w);
    await trainer.release();
  });

  it('returns the gradients of the batch it is given after a step has used its own gradient buffers', async () => {
    const setup = { graph: regressionGraph(), loss: 'loss', trainable: /weight$/, config: { runtime: { threads: 1 } } };
    const stepped = await Trainer.create(setup);
    await stepped.trainStep(batch(0, new Rng(1)));
    const fresh = await Trainer.create(setup);
    for (const [k, p] of stepped.params) fresh.params.get(k)!.set(p);
    const feeds = batch(1, new Rng(2));
    const got = (await stepped.lossAndGradients(feeds)).grads;
    const want = (await fresh.lossAndGradients(feeds)).grads;
    for (const [k, g] of want) expect(got.get(k)).toEqual(g);
    await stepped.release();
    await fresh.release();
  });

  it('leaves frozen tensors alone and exports the trained graph', async () => {
    const trainer = await Trainer.create({ graph: regressionGraph(), loss: 'loss', trainable: ['head.weight', 'head.bias'], config });
    await trainer.fit({ steps: 5, batch });
    const g = trainer.trainedGraph();
    expect(g.initializers.get('fc1.weight')!.data).toEqual(regressionGraph().initializers.get('fc1.weight')!.data);
    expect(g.initializers.get('head.weight')!.data).not.toEqual(regressionGraph().initializers.get('head.weight')!.data);
    await trainer.release();
  });
});

describe('Trainer with data-parallel replicas (worker threads)', () => {
  const setup = (replicas: number) => ({ graph: regressionGraph(), loss: 'loss', trainable: /\.(weight|bias)$/, config: { ...config, replicas } });

  it('computes the loss and gradients one session computes, as the mean of its replicas', async () => {
    const single = await Trainer.create(setup(1));
    const dual = await Trainer.create(setup(2));
    const feeds = batch(0, new Rng(4));
    const a = await single.lossAndGradients(feeds);
    const b = await dual.lossAndGradients(feeds);
    expect(b.loss).toBeCloseTo(a.loss, 6);
    for (const [name, g] of a.grads) g.forEach((v, i) => expect(b.grads.get(name)![i], name).toBeCloseTo(v, 5));
    await single.release();
    await dual.release();
  });

  it('trains deterministically and resumes bit-identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-dp-ckpt-'));
    const straight = await Trainer.create(setup(2));
    const results = await straight.fit({ steps: 30, batch });
    expect(results[29].loss).toBeLessThan(results[0].loss);
    const first = await Trainer.create(setup(2));
    await first.fit({ steps: 15, batch, checkpoint: { dir, every: 15 } });
    const resumed = await Trainer.create(setup(2));
    resumed.loadCheckpoint(dir);
    await resumed.fit({ steps: 30, batch });
    for (const [name, p] of straight.params) expect(resumed.params.get(name), name).toEqual(p);
    for (const t of [straight, first, resumed]) await t.release();
  });

  it('reports a replica\'s failure as an error of the step, and keeps working after it', async () => {
    const dual = await Trainer.create(setup(2));
    const good = batch(0, new Rng(1));
    await expect(dual.trainStep({ x: new ort.Tensor('float32', new Float32Array(BATCH * 3), [BATCH, 3]), y: good.y })).rejects.toThrow(/training replica: .*x/);
    const r = await dual.trainStep(good);
    expect(Number.isFinite(r.loss)).toBe(true);
    await dual.release();
  });

  it('refuses a batch that does not split evenly, and CUDA', async () => {
    await expect(Trainer.create(setup(3))).rejects.toThrow(/64 rows, not a multiple of 3 replicas/);
    await expect(Trainer.create({ ...setup(2), config: { ...config, replicas: 2, runtime: { device: 'cuda' } } })).rejects.toThrow(/CPU training/);
  });
});

describe('optimizer pieces', () => {
  it('AdamW: the first step moves each weight by about lr against its gradient, plus decoupled decay', () => {
    const opt = new AdamW({ lr: 0.1, weightDecay: 0.5 });
    const p = new Map([['w', Float32Array.of(1, -2)]]);
    opt.step(p, new Map([['w', Float32Array.of(3, -0.001)]]));
    expect(p.get('w')![0]).toBeCloseTo(1 * (1 - 0.05) - 0.1, 5);
    expect(p.get('w')![1]).toBeCloseTo(-2 * (1 - 0.05) + 0.1, 3);
  });

  it('warm-up then cosine learning rate', () => {
    const cfg = { warmupSteps: 10, totalSteps: 110, minLr: 0.1 };
    expect(learningRate(1, 0, cfg)).toBeCloseTo(0.1);
    expect(learningRate(1, 9, cfg)).toBeCloseTo(1);
    expect(learningRate(1, 60, cfg)).toBeCloseTo(0.55);
    expect(learningRate(1, 110, cfg)).toBeCloseTo(0.1);
    expect(learningRate(1, 500, cfg)).toBeCloseTo(0.1);
  });

  it('the in-graph AdamW update matches the TypeScript one', async () => {
    const graph = regressionGraph();
    const params = ['fc1.weight', 'fc1.bias', 'head.weight'];
    const feeds = batch(0, new Rng(3));
    const gg = await buildGradientGraph(graph, { loss: 'loss', wrt: params, feeds });
    const withAdam = appendAdamW(gg, { clipGradNorm: 0.5 });
    const { session } = await createSession(withAdam.graph, { threads: 1 });
    const ts = new Map(params.map((p) => [p, Float32Array.from(gg.initialValues.get(p)!.data as Float32Array)]));
    const state: Record<string, ort.Tensor> = {};
    for (const p of params) {
      const t = gg.initialValues.get(p)!;
      state[p] = new ort.Tensor('float32', Float32Array.from(t.data as Float32Array), t.dims);
      state[`m.${p}`] = new ort.Tensor('float32', new Float32Array(t.data.length), t.dims);
      state[`v.${p}`] = new ort.Tensor('float32', new Float32Array(t.data.length), t.dims);
    }
    const opt = new AdamW({ lr: 0.01, weightDecay: 0.1 });
    const trainer = await Trainer.create({ graph, loss: 'loss', trainable: params, exampleFeeds: feeds, config: { runtime: { threads: 1 } } });
    for (let t = 1; t <= 3; t++) {
      trainer.params.forEach((v, k) => v.set(ts.get(k)!));
      const { grads } = await trainer.lossAndGradients(feeds);
      opt.step(ts, grads, 0.01, clipScale(grads.values(), 0.5).scale);
      const scalars = Object.entries(adamWGraphScalars(0.01, t, 0.9, 0.999, 0.1)).map(([k, v]) => [k, new ort.Tensor('float32', Float32Array.of(v), [])]);
      const out = await session.run({ ...feeds, ...state, ...Object.fromEntries(scalars) });
      for (const [p, u] of Object.entries(withAdam.updates)) {
        state[p] = out[u.param];
        state[`m.${p}`] = out[u.m];
        state[`v.${p}`] = out[u.v];
      }
    }
    for (const p of params) (state[p].data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(ts.get(p)![i], 5));
    await trainer.release();
  });
});

describe('ReplicaPool', () => {
  it('splits the batch across replicas, and fails every run at once after a replica died', async () => {
    const g = new GraphBuilder('id');
    const x = g.input('x', 'float32', [2]);
    g.op('ReduceSum', [x], { keepdims: 0 }, 'loss');
    g.output('loss', 'float32', []);
    const pool = await ReplicaPool.create({ model: encodeModel(g.build()).model, replicas: 2, threads: 1, spin: { spinning: false, spinMicros: 1 }, shared: new SharedArrayBuffer(16), inputs: [], outputs: [[], []], loss: 'loss' });
    const x4 = () => ({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [4]) });
    expect(await pool.run(x4())).toEqual([3, 7]);
    await (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers[1].terminate();
    await expect(pool.run(x4())).rejects.toThrow(/replica exited .*create the trainer again/);
    await pool.release();
  });
});
