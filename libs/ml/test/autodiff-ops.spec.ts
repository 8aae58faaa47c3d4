import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildGradientGraph, GraphBuilder, Rng } from '@vca/ml';
import { checkGradients } from './grad-check.helper';

const pos: [number, number] = [0.5, 2];

describe('autodiff gradient rules vs finite differences', () => {
  describe('element-wise with broadcasting', () => {
    it.each(['Add', 'Sub', 'Mul'])('%s', (op) => checkGradients((g, p) => g.op(op, [p.a, p.b]), { a: [2, 3, 4], b: [3, 1] }));
    it('Div', () => checkGradients((g, p) => g.div(p.a, p.b), { a: [2, 3, 4], b: { dims: [4], range: pos } }));
    it('Pow with a trainable exponent', () => checkGradients((g, p) => g.pow(p.x, p.e), { x: { dims: [3, 4], range: pos }, e: { dims: [], range: [1.5, 2.5] } }));
    it.each([
      ['Neg', undefined],
      ['Exp', undefined],
      ['Sigmoid', undefined],
      ['Tanh', undefined],
      ['Relu', undefined],
      ['Erf', undefined],
      ['Abs', undefined],
      ['Identity', undefined],
      ['Sqrt', pos],
      ['Log', pos],
      ['Reciprocal', pos],
    ] as [string, [number, number] | undefined][])('%s', (op, range) => checkGradients((g, p) => g.op(op, [p.x]), { x: { dims: [3, 5], range } }));
    it('Clip (min and max inputs), LeakyRelu, Softplus', () =>
      checkGradients((g, p) => g.add(g.add(g.op('Clip', [p.x, g.scalar(-0.4), g.scalar(0.3)]), g.op('LeakyRelu', [p.x], { alpha: 0.2 })), g.op('Softplus', [p.x])), { x: [4, 5] }));
    it('GELU built from Erf, and SiLU', () => checkGradients((g, p) => g.add(g.gelu(p.x), g.silu(p.x)), { x: [4, 6] }));
    it('Where', () =>
      checkGradients((g, p) => g.op('Where', [g.op('Greater', [p.c, g.scalar(0)]), p.a, p.b]), { a: [3, 4], b: [4], c: [3, 4] }, { trainable: ['a', 'b'] }));
    it('Cast (float32 → float64 → float32) and Constant', () =>
      checkGradients((g, p) => {
        const k = g.op('Constant', [], { value: { dtype: 'float32', dims: [2], data: Float32Array.of(2, -3) } });
        return g.mul(g.cast(g.mul(g.cast(p.x, 'float64'), g.cast(p.x, 'float64')), 'float32'), k);
      }, { x: [3, 2] }));
  });

  describe('linear algebra', () => {
    it('MatMul activations × weight', () => checkGradients((g, p) => g.matmul(p.x, p.w), { x: [2, 3, 4], w: [4, 5] }));
    it('MatMul batched with broadcasting', () => checkGradients((g, p) => g.matmul(p.a, p.b), { a: [2, 1, 3, 4], b: [3, 4, 2] }));
    it('MatMul with 1-D operands', () =>
      checkGradients((g, p) => g.add(g.matmul(p.v, p.w), g.reduceSum(g.matmul(p.m, p.u), [0], 0)), { v: [4], w: [4, 5], m: [2, 5, 5], u: [5] }));
    it('MatMul in float64 agrees to 1e-6', () => checkGradients((g, p) => g.matmul(p.a, p.b), { a: [2, 3, 4], b: [2, 4, 2] }, { dtype: 'float64' }));
    it('float64 composite (MatMul, Tanh, Add, Softmax, Div, Exp, Sigmoid, LayerNorm, ReduceSum) agrees to 1e-6', () =>
      checkGradients(
        (g, p) => {
          const h = g.softmax(g.add(g.tanh(g.matmul(p.a, p.b)), p.c), -1);
          const z = g.div(h, g.exp(g.sigmoid(p.d)));
          return g.add(g.layerNorm(z, p.s, p.bb, -1), g.reduceSum(z, [1], 1));
        },
        { a: [2, 3, 4], b: [4, 5], c: [5], d: [3, 1], s: [5], bb: [5] },
        { dtype: 'float64' },
      ));
    it.each([
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ])('Gemm transA=%i transB=%i with α, β and broadcast C', (transA, transB) =>
      checkGradients((g, p) => g.gemm(p.a, p.b, p.c, { alpha: 0.7, beta: 1.3, transA, transB }), {
        a: transA ? [4, 3] : [3, 4],
        b: transB ? [5, 4] : [4, 5],
        c: [5],
      }));
    it('Conv 3×3, stride 1, pad 1, with bias', () =>
      checkGradients((g, p) => g.conv(p.x, p.w, p.b, { pads: [1, 1, 1, 1] }), { x: [2, 3, 6, 6], w: [4, 3, 3, 3], b: [4] }));
    it('Conv 3×3, stride 2, pad 1 (odd and even sizes)', () =>
      checkGradients(
        (g, p) => g.add(g.reduceSum(g.conv(p.x, p.w, undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }), [2, 3]), g.reduceSum(g.conv(p.y, p.w, undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }), [2, 3])),
        { x: [2, 3, 8, 8], y: [2, 3, 7, 7], w: [4, 3, 3, 3] },
      ));
    it('strided Conv input gradients by polyphase: kernel 4 stride 2, kernel 3 stride 3 unpadded, 1×1 stride 2, asymmetric pads', () =>
      checkGradients(
        (g, p) => {
          // Each convolution's output weighted by its own random tensor, then all summed.
          const weighted = (y: string, r: string) => g.reduceSum(g.mul(y, r), [1, 2, 3]);
          return g.add(
            g.add(weighted(g.conv(p.x, p.w4, undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }), p.r4), weighted(g.conv(p.x, p.w1, undefined, { strides: [2, 2] }), p.r1)),
            g.add(weighted(g.conv(p.x, p.w3, undefined, { strides: [3, 3] }), p.r3), weighted(g.conv(p.x, p.w3, undefined, { strides: [2, 2], pads: [0, 1, 2, 1] }), p.ra)),
          );
        },
        { x: [2, 3, 9, 9], w4: [4, 3, 4, 4], w3: [4, 3, 3, 3], w1: [4, 3, 1, 1], r4: [2, 4, 4, 4], r1: [2, 4, 5, 5], r3: [2, 4, 3, 3], ra: [2, 4, 5, 5] },
        { trainable: ['x', 'w4', 'w3'] },
      ));
    it('differentiates float32 strided Conv without ConvTranspose (one convolution + DepthToSpace)', async () => {
      const g = new GraphBuilder('s');
      const x = g.input('x', 'float32', [2, 3, 9, 9]);
      const w = g.initializer('w', new Rng(2).normalArray(4 * 3 * 16), [4, 3, 4, 4]);
      g.op('ReduceSum', [g.conv(x, w, undefined, { strides: [2, 2], pads: [1, 1, 1, 1] })], { keepdims: 0 }, 'loss');
      g.output('loss', 'float32', []);
      const gg = await buildGradientGraph(g.build(), { loss: 'loss', wrt: ['x', 'w'] });
      expect(gg.graph.nodes.some((n) => n.op === 'ConvTranspose')).toBe(false);
      expect(gg.graph.nodes.some((n) => n.op === 'DepthToSpace')).toBe(true);
    });
    it('Conv 1×1, asymmetric pads, and auto_pad SAME_UPPER', () =>
      checkGradients(
        (g, p) =>
          g.add(
            g.conv(g.conv(p.x, p.k1), p.w, undefined, { pads: [0, 1, 2, 1] }),
            g.op('Conv', [g.conv(p.x, p.k1), p.w2], { auto_pad: 'SAME_UPPER', strides: [1, 1] }),
          ),
        { x: [1, 2, 5, 5], k1: [3, 2, 1, 1], w: [2, 3, 3, 3], w2: [2, 3, 2, 4] },
        { trainable: ['x', 'k1', 'w', 'w2'] },
      ));
    it('ConvTranspose stride 2', () =>
      checkGradients((g, p) => g.op('ConvTranspose', [p.x, p.w, p.b], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), {
        x: [2, 3, 4, 4],
        w: [3, 2, 3, 3],
        b: [2],
      }));
  });

  describe('data movement', () => {
    it('Resize nearest 2× (asymmetric floor, and default half_pixel)', () =>
      checkGradients(
        (g, p) => g.add(g.resizeNearest(p.x, [1, 1, 2, 2]), g.op('Resize', [p.x, '', g.constant([1, 1, 2, 2], [4])], { mode: 'nearest' })),
        { x: [2, 3, 4, 5] },
      ));
    it('Concat and Split', () =>
      checkGradients((g, p) => {
        const c = g.concat([p.a, p.b], 1);
        const [s1, s2] = g.node('Split', [c, g.ints([1, 4])], { axis: 1 }, { outputs: 2 });
        return g.concat([g.mul(s2, s2), s1], 1);
      }, { a: [2, 2, 3], b: [2, 3, 3] }));
    it('Split with an unused output', () =>
      checkGradients((g, p) => g.node('Split', [p.x, g.ints([2, 3])], { axis: -1 }, { outputs: 2 })[1], { x: [3, 5] }));
    it('Slice with negative starts and explicit axes', () =>
      checkGradients((g, p) => g.slice(p.x, [-3, 1], [100, 3], [2, 0]), { x: [4, 3, 6] }));
    it('Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Expand', () =>
      checkGradients((g, p) => {
        const t = g.transpose(g.reshape(p.x, [3, 2, 4]), [2, 0, 1]);
        const u = g.squeeze(g.unsqueeze(g.flatten(t, 1), [0, 3]), [0]);
        return g.add(u, g.op('Expand', [p.y, g.ints([4, 6, 3])]));
      }, { x: [2, 3, 4], y: [1, 1, 3] }));
    it.each(['DCR', 'CRD'])('SpaceToDepth then DepthToSpace (%s), weighted so the permutation matters', (mode) =>
      checkGradients((g, p) => g.mul(g.op('DepthToSpace', [g.mul(g.op('SpaceToDepth', [p.x], { blocksize: 2 }), p.w)], { blocksize: 2, mode }), p.v), {
        x: [2, 3, 4, 6],
        w: [1, 12, 2, 3],
        v: [1, 3, 4, 6],
      }));
    it('Gather: embedding lookup with repeated ids', () =>
      checkGradients((g, p) => g.gather(p.table, 'ids'), { table: [10, 4] }, {
        feeds: { ids: new ort.Tensor('int64', BigInt64Array.from([1n, 3n, 3n, 9n, 0n, 1n]), [2, 3]) },
        trainable: ['table'],
      }));
    it('Gather on axis 1', () =>
      checkGradients((g, p) => g.gather(p.x, g.ints([2, 0, 2]), 1), { x: [3, 4, 2] }));
  });

  describe('normalization and reductions', () => {
    it('Softmax and LogSoftmax', () =>
      checkGradients((g, p) => g.add(g.softmax(p.x, 1), g.op('LogSoftmax', [p.x], { axis: -1 })), { x: [2, 4, 4] }));
    it('LayerNormalization', () =>
      checkGradients((g, p) => g.layerNorm(p.x, p.s, p.b, -1), { x: [2, 3, 8], s: [8], b: [8] }));
    it('LayerNormalization over two axes', () =>
      checkGradients((g, p) => g.layerNorm(p.x, p.s, p.b, 1), { x: [2, 3, 4], s: [3, 4], b: [3, 4] }));
    it('InstanceNormalization', () =>
      checkGradients((g, p) => g.instanceNorm(p.x, p.s, p.b), { x: [2, 3, 4, 4], s: [3], b: [3] }));
    it('GroupNorm pattern (Reshape → InstanceNormalization → Reshape → affine)', () =>
      checkGradients((g, p) => g.groupNorm(p.x, 2, [2, 4, 3, 3], p.gamma, p.beta), { x: [2, 4, 3, 3], gamma: [4], beta: [4] }));
    it('GroupNorm pattern then SiLU, 3 groups of 2 channels, non-square (fused GroupNorm backward)', () =>
      checkGradients((g, p) => g.silu(g.groupNorm(p.x, 3, [2, 6, 3, 2], p.gamma, p.beta)), { x: [2, 6, 3, 2], gamma: [6], beta: [6] }));
    it('GroupNorm pattern with frozen γ (input gradient only, as in LoRA training)', () =>
      checkGradients((g, p) => g.groupNorm(p.x, 3, [2, 6, 3, 2], p.gamma, p.beta), { x: [2, 6, 3, 2], gamma: [6], beta: [6] }, { trainable: ['x'] }));
    it('GroupNorm pattern with a frozen input (γ and β gradients only)', () =>
      checkGradients((g, p) => g.groupNorm(p.x, 3, [2, 6, 3, 2], p.gamma, p.beta), { x: [2, 6, 3, 2], gamma: [6], beta: [6] }, { trainable: ['gamma', 'beta'] }));
    it('InstanceNormalization with constant unit scale over two spatial axes, then SiLU (LayerNormalization InvStdDev path)', () =>
      checkGradients(
        (g, p) => g.silu(g.mul(g.instanceNorm(p.x, g.constant(new Float32Array(3).fill(1), [3]), g.constant(new Float32Array(3), [3])), p.k)),
        { x: [2, 3, 4, 5], k: [3, 1, 1] },
      ));
    it('InstanceNormalization with constant unit scale on a rank-3 input (the grouped form)', () =>
      checkGradients((g, p) => g.instanceNorm(p.x, g.constant(new Float32Array(4).fill(1), [4]), g.constant(new Float32Array(4), [4])), { x: [3, 4, 7] }));
    it('ReduceMean (axes attribute) and ReduceSum (axes input, keepdims 0)', () =>
      checkGradients((g, p) => g.add(g.reduceMean(p.x, [1], 0), g.reduceSum(p.x, [1], 0)), { x: [2, 5, 3] }));
  });
});
