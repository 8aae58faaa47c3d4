import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildGradientGraph, createSession, GraphBuilder, nchwcBlockSize, numel, probeTensorShapes, Rng, useNchwcConvs } from '@vca/ml';
import { checkGradients } from './grad-check.helper';

/** Convolutions whose kernels are graph inputs or computed, as in a training graph. */
function convGraph() {
  const g = new GraphBuilder('convs');
  const x = g.input('x', 'float32', [2, 16, 7, 6]);
  const rgb = g.input('rgb', 'float32', [2, 4, 6, 6]);
  const w = g.input('w', 'float32', [32, 16, 3, 3]);
  const w4 = g.input('w4', 'float32', [16, 4, 3, 3]);
  const b = g.input('b', 'float32', [32]);
  g.op('Conv', [x, w, b], { pads: [1, 1, 1, 1] }, 'same');
  g.op('Conv', [x, w], { pads: [0, 1, 2, 1], strides: [2, 2] }, 'strided');
  g.op('Conv', [x, g.slice(w, [0, 0], [1, 1], [2, 3])], {}, 'pointwise'); // computed 1×1 kernel
  g.op('Conv', [rgb, w4], { auto_pad: 'SAME_UPPER' }, 'few_inputs');
  g.op('Conv', [x, g.slice(w, [0], [8], [0]), g.slice(b, [0], [8], [0])], { pads: [1, 1, 1, 1] }, 'unaligned'); // 8 outputs: padded to a whole block (zero taps, zero bias)
  // An input-gradient style kernel: channels swapped, both spatial axes reversed (gathered from w in one step).
  const y = g.input('y', 'float32', [2, 32, 5, 5]);
  g.op('Conv', [y, g.slice(g.transpose(w, [1, 0, 2, 3]), [-1, -1], [-4, -4], [2, 3], [-1, -1])], { pads: [1, 1, 1, 1] }, 'flipped');
  for (const o of ['same', 'strided', 'pointwise', 'few_inputs', 'unaligned', 'flipped']) g.output(o, 'float32');
  return g.build();
}

describe('NCHWc convolutions with run-time kernels', () => {
  it('leaves float64 convolutions alone (NCHWc kernels are float32 only)', async () => {
    const g = new GraphBuilder('f64');
    const x = g.input('x', 'float64', [1, 16, 4, 4]);
    const w = g.input('w', 'float64', [16, 16, 3, 3]);
    g.op('Conv', [x, g.op('Neg', [w])], { pads: [1, 1, 1, 1] }, 'y');
    g.op('Conv', [x, w], { pads: [1, 1, 1, 1] }, 'z');
    g.output('y', 'float64');
    g.output('z', 'float64');
    const rewritten = await useNchwcConvs(g.build());
    expect(rewritten.nodes.some((n) => n.domain === 'com.microsoft.nchwc')).toBe(false);
  });

  it('knows the block size of this machine', async () => {
    expect([0, 8, 16]).toContain(await nchwcBlockSize());
  });

  it('rewrites eligible convolutions and computes what NCHW convolutions compute', async () => {
    const graph = convGraph();
    const block = await nchwcBlockSize();
    const rewritten = await useNchwcConvs(graph);
    const nchwc = rewritten.nodes.filter((n) => n.domain === 'com.microsoft.nchwc' && n.op === 'Conv').length;
    if (block === 16) expect(nchwc).toBe(6);
    if (block === 16) expect(rewritten.nodes.filter((n) => n.op === 'GatherElements')).toHaveLength(2); // the flipped kernel, the padded one
    const rng = new Rng(3);
    const feeds: Record<string, ort.Tensor> = {};
    for (const i of graph.inputs) feeds[i.name] = new ort.Tensor('float32', rng.normalArray(numel(i.shape as number[])), i.shape as number[]);
    const plain = await (await createSession(graph, { nchwc: false })).session.run(feeds);
    const blocked = await (await createSession(graph, { nchwc: true })).session.run(feeds);
    for (const o of graph.outputs) {
      const a = plain[o.name].data as Float32Array;
      const c = blocked[o.name].data as Float32Array;
      expect(blocked[o.name].dims, o.name).toEqual(plain[o.name].dims);
      const err = a.reduce((m, v, i) => Math.max(m, Math.abs(v - c[i])), 0);
      expect(err, o.name).toBeLessThan(1e-4);
    }
  });

  it('gradient graphs declare the shapes of the kernels they compute (value_info), as a probe run finds them', async () => {
    const g = new GraphBuilder('c');
    const x = g.input('x', 'float32', [16, 16, 6, 6]);
    const w = g.initializer('w', new Rng(1).normalArray(16 * 16 * 9), [16, 16, 3, 3]);
    g.op('ReduceSum', [g.conv(g.conv(x, w, undefined, { pads: [1, 1, 1, 1] }), w, undefined, { strides: [2, 2] })], { keepdims: 0 }, 'loss');
    g.output('loss', 'float32', []);
    const gg = await buildGradientGraph(g.build(), { loss: 'loss', wrt: ['w', 'x'], inputShapes: { x: [16, 16, 6, 6] }, nchwcBlock: 16 });
    const hints = gg.graph.valueInfo ?? [];
    expect(hints.length).toBeGreaterThanOrEqual(2); // the flipped kernel of the first conv, the g-kernel of the strided one's ∂W
    const probed = await probeTensorShapes(gg.graph, hints.map((h) => h.name));
    for (const h of hints) expect(h.shape, h.name).toEqual(probed.get(h.name));
  });

  describe('gradients with block-aligned channels (the NCHWc path when the CPU has it)', () => {
    it('Conv 3×3, 16 → 16 channels, stride 1 and 2, with bias', () =>
      checkGradients(
        (g, p) => g.add(g.reduceSum(g.conv(p.x, p.w, p.b, { pads: [1, 1, 1, 1] }), [2, 3]), g.reduceSum(g.conv(p.x, p.w, undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }), [2, 3])),
        { x: [2, 16, 5, 5], w: [16, 16, 3, 3], b: [16] },
      ));
    it('Conv 3×3, 4 → 16 → 4 channels', () =>
      checkGradients((g, p) => g.conv(g.conv(p.x, p.w1, undefined, { pads: [1, 1, 1, 1] }), p.w2, undefined, { pads: [1, 1, 1, 1] }), { x: [2, 4, 4, 4], w1: [16, 4, 3, 3], w2: [4, 16, 3, 3] }));
  });
});
