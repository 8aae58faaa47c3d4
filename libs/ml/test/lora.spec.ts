import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  addMseLoss,
  applyLora,
  createSession,
  extractLora,
  GraphBuilder,
  loadLora,
  loraFeeds,
  mergeLora,
  noLoraFeeds,
  Rng,
  saveLora,
  Trainer,
  unmergeLora,
  type Graph,
  type LoraWeights,
} from '@vca/ml';

const N = 32;

/** x [N, 6] → MatMul proj.in (W [6, 16]) → tanh → Gemm proj.out (W [4, 16], transB=1) → [N, 4]. */
function baseNet(): Graph {
  const rng = new Rng(9);
  const g = new GraphBuilder('base');
  const x = g.input('x', 'float32', ['batch', 6]);
  const h = g.tanh(g.matmul(x, g.initializer('proj.in.weight', rng.normalArray(96, 0.4), [6, 16])));
  g.op('Gemm', [h, g.initializer('proj.out.weight', rng.normalArray(64, 0.25), [4, 16]), g.initializer('proj.out.bias', new Float32Array(4), [4])], { transB: 1, alpha: 1.5 }, 'y');
  g.output('y', 'float32', ['batch', 4]);
  return g.build();
}

async function run(graph: Graph, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const { session } = await createSession(graph, { threads: 1 });
  const names = new Set(session.inputNames);
  const out = await session.run(Object.fromEntries(Object.entries(feeds).filter(([k]) => names.has(k))));
  await session.release();
  return out['y'].data as Float32Array;
}

const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length;
const x = new ort.Tensor('float32', new Rng(1).normalArray(N * 6), [N, 6]);

/** A "teacher" LoRA that the student must recover: a random rank-2 change of both weights. */
function teacher(): LoraWeights {
  const rng = new Rng(77);
  const t = (dims: number[]) => ({ dtype: 'float32' as const, dims, data: rng.normalArray(dims[0] * dims[1], 0.5) });
  return {
    rank: 2,
    alpha: 2,
    tensors: new Map([
      ['proj.in.weight.lora_A', t([6, 2])],
      ['proj.in.weight.lora_B', t([2, 16])],
      ['proj.out.weight.lora_A', t([16, 2])],
      ['proj.out.weight.lora_B', t([2, 4])],
    ]),
  };
}

describe('LoRA', () => {
  it('trains only the LoRA parameters of a frozen network toward a target', async () => {
    const target = await run(mergeLora(baseNet(), teacher()), { x });
    const before = await run(baseNet(), { x });
    const lora = applyLora(baseNet(), { target: /^proj\.(in|out)\.weight$/, rank: 4, alpha: 4, seed: 3 });
    expect(lora.adapters.map((a) => [a.weight, a.layout])).toEqual([
      ['proj.in.weight', 'in_out'],
      ['proj.out.weight', 'out_in'],
    ]);
    // B starts at zero: inserting LoRA does not change the output.
    expect(await run(lora.graph, { x })).toEqual(before);
    addMseLoss(lora.graph, 'y');
    const trainer = await Trainer.create({ graph: lora.graph, loss: 'loss', trainable: /\.lora_[AB]$/, inputShapes: { x: [N, 6], target: [N, 4] }, config: { optimizer: { lr: 2e-2 }, runtime: { threads: 1 } } });
    expect([...trainer.params.keys()].sort()).toEqual(['proj.in.weight.lora_A', 'proj.in.weight.lora_B', 'proj.out.weight.lora_A', 'proj.out.weight.lora_B']);
    const feeds = { x, target: new ort.Tensor('float32', target, [N, 4]) };
    await trainer.fit({ steps: 300, batch: () => feeds });
    const trained = extractLora(lora, trainer.weights());
    const merged = mergeLora(baseNet(), trained);
    const after = await run(merged, { x });
    expect(mse(after, target)).toBeLessThan(0.1 * mse(before, target));
    // Base weights were frozen.
    expect(trainer.trainedGraph().initializers.get('proj.in.weight')!.data).toEqual(baseNet().initializers.get('proj.in.weight')!.data);
    // Merged weights reproduce the LoRA graph's output.
    const withBranches = await run(trainer.trainedGraph(), { x, target: feeds.target });
    after.forEach((v, i) => expect(v).toBeCloseTo(withBranches[i], 4));
    // Unmerge gives the base weights back.
    const restored = unmergeLora(merged, trained);
    (restored.initializers.get('proj.out.weight')!.data as Float32Array).forEach((v, i) =>
      expect(v).toBeCloseTo((baseNet().initializers.get('proj.out.weight')!.data as Float32Array)[i], 5),
    );
    await trainer.release();
  });

  it('run-time-input mode: A, B and scale fed per call; saved and loaded as safetensors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-lora-'));
    const t = teacher();
    saveLora(join(dir, 'style.safetensors'), t, { note: 'test' });
    const loaded = loadLora(join(dir, 'style.safetensors'));
    expect(loaded.rank).toBe(2);
    expect(loaded.tensors.get('proj.out.weight.lora_B')).toEqual(t.tensors.get('proj.out.weight.lora_B'));

    const rt = applyLora(baseNet(), { target: /^proj\./, rank: 2, alpha: 2, mode: 'input' });
    expect(rt.graph.inputs.map((i) => i.name)).toContain('lora.scale');
    const withLora = await run(rt.graph, { x, ...loraFeeds(loaded, rt.adapters) });
    const merged = await run(mergeLora(baseNet(), loaded), { x });
    withLora.forEach((v, i) => expect(v).toBeCloseTo(merged[i], 4));
    expect(await run(rt.graph, { x, ...noLoraFeeds(rt.adapters) })).toEqual(await run(baseNet(), { x }));
  });
});
