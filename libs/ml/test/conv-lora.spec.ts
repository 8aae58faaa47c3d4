import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Layers, Rng, applyConvLora, convLoraDelta, createSession, gradCheck } from '@vca/ml';

function tinyConvNet() {
  const g = new GraphBuilder('convnet');
  const l = new Layers(g, new Rng(1));
  const x = g.input('x', 'float32', [2, 3, 8, 8]);
  const h = g.silu(l.conv('c1', x, 3, 4, 3, 2));
  const y = l.conv('c2', h, 4, 2, 3);
  g.op('ReduceSum', [g.mul(y, y)], { keepdims: 0 }, 'loss');
  g.output('loss', 'float32', []);
  return g.build();
}

const input = () => new ort.Tensor('float32', new Rng(3).normalArray(2 * 3 * 8 * 8), [2, 3, 8, 8]);

describe('conv LoRA', () => {
  it('leaves the output unchanged at initialisation (B = 0)', async () => {
    const base = tinyConvNet();
    const lora = applyConvLora(base, { target: /\.weight$/, rank: 2, alpha: 2 });
    expect(lora.adapters.map((a) => a.weight)).toEqual(['c1.weight', 'c2.weight']);
    const x = input();
    const a = await (await createSession(base, { threads: 1 })).session.run({ x });
    const b = await (await createSession(lora.graph, { threads: 1 })).session.run({ x });
    expect((b['loss']!.data as Float32Array)[0]).toBeCloseTo((a['loss']!.data as Float32Array)[0]!, 4);
  });

  it('equals a convolution with the merged kernel W + (α/r)·B·A', async () => {
    const base = tinyConvNet();
    const lora = applyConvLora(base, { target: /^c1\.weight$/, rank: 2, alpha: 4 });
    const rng = new Rng(9);
    const bName = lora.adapters[0]!.b;
    const b = lora.graph.initializers.get(bName)!;
    lora.graph.initializers.set(bName, { ...b, data: rng.normalArray(b.data.length, 0.5) });
    const merged = structuredClone(base);
    const w = merged.initializers.get('c1.weight')!;
    const delta = convLoraDelta(lora.graph.initializers.get(lora.adapters[0]!.a)!, lora.graph.initializers.get(bName)!, 4 / 2);
    merged.initializers.set('c1.weight', { ...w, data: (w.data as Float32Array).map((v, i) => v + delta[i]!) });
    const x = input();
    const got = await (await createSession(lora.graph, { threads: 1 })).session.run({ x });
    const want = await (await createSession(merged, { threads: 1 })).session.run({ x });
    const g0 = (got['loss']!.data as Float32Array)[0]!;
    expect(Math.abs(g0 - (want['loss']!.data as Float32Array)[0]!) / Math.abs(g0)).toBeLessThan(1e-4);
  });

  it('has gradients that match finite differences (A and B of a strided and a plain conv)', async () => {
    const lora = applyConvLora(tinyConvNet(), { target: /\.weight$/, rank: 2, alpha: 2 });
    // Non-zero B so that A's gradient is not zero.
    for (const a of lora.adapters) {
      const b = lora.graph.initializers.get(a.b)!;
      lora.graph.initializers.set(a.b, { ...b, data: new Rng(5).normalArray(b.data.length, 0.3) });
    }
    const wrt = lora.adapters.flatMap((a) => [a.a, a.b]);
    const results = await gradCheck(lora.graph, { loss: 'loss', wrt, feeds: { x: input() }, eps: 1e-2, directions: 2 });
    for (const r of results) expect(r.relError, `${r.name}: ${r.analytic} vs ${r.numeric}`).toBeLessThan(2e-2);
  });
});
