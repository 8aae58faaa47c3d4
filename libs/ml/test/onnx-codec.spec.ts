import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createSession, decodeModel, encodeModel, GraphBuilder, loadModel, loadSafetensors, saveModel, saveSafetensors } from '@vca/ml';

function mlp() {
  const g = new GraphBuilder('mlp');
  const x = g.input('x', 'float32', ['batch', 3]);
  const w = g.initializer('w', Float32Array.from({ length: 3 * 600 }, (_, i) => ((i % 7) - 3) / 10), [3, 600]);
  const b = g.initializer('b', new Float32Array(600).fill(0.5), [600]);
  const h = g.relu(g.add(g.matmul(x, w), b));
  g.op('ReduceSum', [h, g.ints([1])], { keepdims: 0 }, 'y');
  g.output('y', 'float32', ['batch']);
  return g.build();
}

function expected(x: number[]): number {
  let s = 0;
  for (let j = 0; j < 600; j++) {
    let v = 0.5;
    for (let i = 0; i < 3; i++) v += x[i] * ((((i * 600 + j) % 7) - 3) / 10);
    s += Math.max(0, v);
  }
  return s;
}

describe('GraphBuilder + ONNX codec', () => {
  it('builds a model that onnxruntime-node runs correctly', async () => {
    const { session } = await createSession(mlp(), { threads: 1 });
    const x = [0.3, -1.2, 2];
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([...x, ...x]), [2, 3]) });
    expect(out['y'].dims).toEqual([2]);
    expect((out['y'].data as Float32Array)[1]).toBeCloseTo(expected(x), 3);
  });

  it('round-trips through external data files that ORT can load by path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-ml-'));
    const path = join(dir, 'model.onnx');
    saveModel(path, mlp(), { externalData: true, threshold: 100 });
    expect(statSync(join(dir, 'model.onnx_data')).size).toBeGreaterThanOrEqual(600 * 4 * 4);
    expect(statSync(path).size).toBeLessThan(2000);
    const reloaded = loadModel(path);
    expect(reloaded.initializers.get('w')?.dims).toEqual([3, 600]);
    expect(reloaded.initializers.get('w')?.data).toEqual(mlp().initializers.get('w')?.data);
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]);
    const fromPath = await ort.InferenceSession.create(path);
    const fromReloaded = (await createSession(reloaded)).session;
    const a = (await fromPath.run({ x }))['y'].data as Float32Array;
    const b = (await fromReloaded.run({ x }))['y'].data as Float32Array;
    expect(a[0]).toBeCloseTo(expected([1, 2, 3]), 3);
    expect(b[0]).toBe(a[0]);
    // Inline re-encode of the decoded graph is byte-stable.
    const once = encodeModel(decodeModel(readFileSync(path), () => readFileSync(join(dir, 'model.onnx_data')))).model;
    expect(encodeModel(decodeModel(once)).model).toEqual(once);
  });

  it('writes and reads safetensors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-ml-'));
    const path = join(dir, 'w.safetensors');
    const w = { dtype: 'float32' as const, dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]) };
    const step = { dtype: 'int64' as const, dims: [], data: BigInt64Array.from([7n]) };
    saveSafetensors(path, { w, step }, { format: 'pt' });
    const file = readFileSync(path);
    const headerLen = Number(file.readBigUInt64LE(0));
    expect((8 + headerLen) % 8).toBe(0);
    const back = loadSafetensors(path);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(back.tensors.get('w')).toEqual(w);
    expect(back.tensors.get('step')?.data[0]).toBe(7n);
  });
});
