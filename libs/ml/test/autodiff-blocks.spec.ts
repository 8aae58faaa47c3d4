import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attention, attentionBlock, buildGradientGraph, buildUNet, addMseLoss, gradCheck, GraphBuilder, Layers, resBlock, Rng, UnsupportedGradientError } from '@vca/ml';
import { checkGradients } from './grad-check.helper';

const rng = new Rng(3);
const tensor = (dims: number[]) => new ort.Tensor('float32', rng.normalArray(dims.reduce((a, b) => a * b, 1)), dims);

describe('autodiff on composite blocks', () => {
  it('multi-head cross-attention (q/k/v/out MatMuls, softmax)', () =>
    checkGradients(
      (g, p) => {
        const l = new Layers(g, new Rng(1));
        return attention(l, 'attn', p.tokens, 6, 8, 2, { name: p.ctx, len: 3, dim: 4 });
      },
      { tokens: [2, 6, 8], ctx: [2, 3, 4] },
      { trainable: ['tokens', 'ctx', 'attn.q.weight', 'attn.k.weight', 'attn.v.weight', 'attn.out.weight'] },
    ));

  it('attention block (GroupNorm + self- and cross-attention, residual)', () =>
    checkGradients(
      (g, p) => attentionBlock(new Layers(g, new Rng(1)), 'blk', p.x, 8, { height: 3, width: 3 }, 4, 2, { name: p.ctx, len: 2, dim: 4 }),
      { x: [2, 8, 3, 3], ctx: [2, 2, 4] },
      { trainable: ['x', 'ctx', 'blk.norm.weight', 'blk.norm.bias', 'blk.self.q.weight', 'blk.cross.v.weight'] },
    ));

  it('residual block with time embedding and 1×1 skip', () =>
    checkGradients(
      (g, p) => resBlock(new Layers(g, new Rng(1)), 'res', p.x, p.temb, 6, 4, 8, { height: 4, width: 4 }, 2),
      { x: [2, 4, 4, 4], temb: [2, 6] },
      { trainable: ['x', 'temb', 'res.conv1.weight', 'res.norm1.weight', 'res.time_proj.weight', 'res.conv2.bias', 'res.skip.weight', 'res.norm2.bias'] },
    ));

  it('transformer text-encoder block as exporters write it (embedding, causal mask via Where, shape arithmetic, erf-GELU)', () =>
    checkGradients(
      (g, p) => {
        const T = 5;
        const D = 8;
        const x = g.add(g.gather(p.tok, 'ids'), p.pos); // [2, T, D]
        const h = g.layerNorm(x, p.ln1, p.ln1b);
        // PyTorch-style dynamic reshape: Shape → Gather → Concat → Reshape.
        const shape = g.op('Shape', [h]);
        const batch = g.unsqueeze(g.gather(shape, g.constant(BigInt64Array.of(0n), [], 'int64')), [0]);
        const heads = (t: string) => g.transpose(g.op('Reshape', [t, g.concat([batch, g.ints([T, 2, D / 2])], 0)]), [0, 2, 1, 3]);
        const q = heads(g.matmul(h, p.wq));
        const k = heads(g.matmul(h, p.wk));
        const v = heads(g.matmul(h, p.wv));
        const causal = g.constant(Uint8Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 1 : 0)), [T, T], 'bool');
        const scores = g.op('Where', [causal, g.matmul(q, g.transpose(k, [0, 1, 3, 2])), g.scalar(-1e4)]);
        const att = g.reshape(g.transpose(g.matmul(g.softmax(scores, -1), v), [0, 2, 1, 3]), [0, T, D]);
        const r = g.add(x, g.matmul(att, p.wo));
        const m = g.add(r, g.matmul(g.gelu(g.matmul(g.layerNorm(r, p.ln2, p.ln2b), p.w1)), p.w2));
        return g.reduceMean(m, [1], 0);
      },
      { tok: [11, 8], pos: [5, 8], ln1: [8], ln1b: [8], wq: [8, 8], wk: [8, 8], wv: [8, 8], wo: [8, 8], ln2: [8], ln2b: [8], w1: [8, 16], w2: [16, 8] },
      { feeds: { ids: new ort.Tensor('int64', BigInt64Array.from([1n, 4n, 4n, 10n, 0n, 3n, 2n, 7n, 1n, 9n]), [2, 5]) }, trainable: ['tok', 'pos', 'ln1', 'wq', 'wk', 'wv', 'wo', 'ln2b', 'w1', 'w2'] },
    ));

  it('image-encoder stem (strided conv patchify, Flatten, Gemm, Relu, LogSoftmax)', () =>
    checkGradients(
      (g, p) => g.op('LogSoftmax', [g.gemm(g.flatten(g.relu(g.conv(p.img, p.patch, p.pb, { strides: [2, 2] })), 1), p.fc, p.fcb, { transB: 1 })], { axis: 1 }),
      { img: [2, 3, 8, 8], patch: [4, 3, 2, 2], pb: [4], fc: [5, 64], fcb: [5] },
    ));

  it('a whole (tiny) UNet with MSE loss', async () => {
    const unet = buildUNet({ channels: [8, 16], size: 8, groups: 4, heads: 2, timeEmbedDim: 16, sinusoidDim: 8, contextDim: 6, contextLen: 3 });
    addMseLoss(unet.graph, unet.output);
    const feeds = {
      sample: tensor([2, 4, 8, 8]),
      timestep: new ort.Tensor('float32', Float32Array.of(3, 500), [2]),
      context: tensor([2, 3, 6]),
      target: tensor([2, 4, 8, 8]),
    };
    const wrt = ['conv_in.weight', 'down1.attn.cross.k.weight', 'mid.res1.conv2.weight', 'up0.res.skip.weight', 'time.linear1.weight', 'conv_out.bias'];
    const results = await gradCheck(unet.graph, { loss: 'loss', wrt, feeds, eps: 1e-2, directions: 1 });
    for (const r of results) expect(r.relError, `${r.name}: ${r.analytic} vs ${r.numeric}`).toBeLessThan(3e-2);
  });
});

describe('autodiff graph construction', () => {
  function chain(op: string) {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.initializer('w', [1, 2, 3, 4, 5, 6], [3, 2]);
    const frozen = g.initializer('frozen', [1, 1, 1, 1, 1, 1], [3, 2]);
    const h = g.op(op, [g.matmul(x, w)], {}, 'odd_node_out');
    g.op('ReduceSum', [g.add(h, g.matmul(x, frozen))], { keepdims: 0 }, 'loss');
    g.output('loss', 'float32', []);
    return g.build();
  }

  it('names the op and the node when an op has no gradient rule', async () => {
    const err = await buildGradientGraph(chain('Sin'), { loss: 'loss', wrt: ['w'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedGradientError);
    expect((err as Error).message).toMatch(/Cannot differentiate Sin node "Sin(_\d+)?"/);
  });

  it('emits no backward nodes for paths without a trainable ancestor', async () => {
    const gg = await buildGradientGraph(chain('Tanh'), { loss: 'loss', wrt: ['w'] });
    // One forward MatMul per branch plus exactly one backward Gemm for w; nothing for `frozen` or x.
    expect(gg.graph.nodes.filter((n) => n.op === 'Gemm')).toHaveLength(1);
    expect(gg.graph.nodes.filter((n) => n.inputs.includes('frozen'))).toHaveLength(1);
    expect(gg.graph.inputs.map((i) => i.name)).toEqual(['x', 'w']);
    expect(gg.graph.outputs.map((o) => o.name)).toEqual(['loss', gg.gradients['w']]);
  });

  it('skips integer shape arithmetic that depends on trainable tensors', async () => {
    const g = new GraphBuilder('t');
    const w = g.initializer('w', [1, 2, 3, 4, 5, 6], [2, 3]);
    const shape = g.op('Shape', [w]);
    const flat = g.op('Reshape', [w, g.op('ReduceProd', [shape], { keepdims: 1 })]);
    g.op('ReduceSum', [g.mul(flat, flat)], { keepdims: 0 }, 'loss');
    g.output('loss', 'float32', []);
    const gg = await buildGradientGraph(g.build(), { loss: 'loss', wrt: ['w'] });
    const s = await ort.InferenceSession.create(Buffer.from((await import('@vca/ml')).encodeModel(gg.graph).model));
    const out = await s.run({ w: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) });
    expect(Array.from(out[gg.gradients['w']].data as Float32Array)).toEqual([2, 4, 6, 8, 10, 12]);
  });

  it('differentiates GroupNorm as one unit: its InstanceNormalization becomes a LayerNormalization whose InvStdDev feeds ∂x, with the same loss', async () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'float32', [2, 8, 3, 3]);
    const gamma = g.initializer('gamma', new Float32Array(8).fill(1.5), [8]);
    const beta = g.initializer('beta', new Float32Array(8).fill(0.25), [8]);
    const w = g.initializer('w', rng.normalArray(8 * 8 * 9), [8, 8, 3, 3]);
    const h = g.op('Conv', [x, w], { pads: [1, 1, 1, 1] });
    g.op('ReduceSum', [g.mul(g.silu(g.groupNorm(h, 4, [2, 8, 3, 3], gamma, beta)), g.constant(rng.normalArray(144), [2, 8, 3, 3]))], { keepdims: 0 }, 'loss');
    g.output('loss', 'float32', []);
    const forward = g.build();
    const gg = await buildGradientGraph(forward, { loss: 'loss', wrt: ['w', 'gamma'] });
    const ops = gg.graph.nodes.map((n) => n.op);
    expect(ops).not.toContain('InstanceNormalization');
    const ln = gg.graph.nodes.filter((n) => n.op === 'LayerNormalization');
    expect(ln).toHaveLength(1);
    expect(gg.graph.nodes.some((n) => n.inputs.includes(ln[0].outputs[2]))).toBe(true);
    // No Sqrt: s is no longer recovered from x̂ and x; no ReduceMean: the fused GroupNorm backward
    // takes its group means from per-channel sums.
    expect(ops).not.toContain('Sqrt');
    expect(ops).not.toContain('ReduceMean');
    const { encodeModel } = await import('@vca/ml');
    const feeds = { x: tensor([2, 8, 3, 3]) };
    const plain = await (await ort.InferenceSession.create(Buffer.from(encodeModel(forward).model))).run(feeds);
    const trained = await ort.InferenceSession.create(Buffer.from(encodeModel(gg.graph).model));
    const all: Record<string, ort.Tensor> = { ...feeds };
    for (const [k, t] of gg.initialValues) all[k] = new ort.Tensor('float32', t.data as Float32Array, t.dims);
    const out = await trained.run(all);
    const [a, b] = [(plain.loss.data as Float32Array)[0], (out[gg.loss].data as Float32Array)[0]];
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(a)));
  });
});
