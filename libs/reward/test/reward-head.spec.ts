import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createSession, gradCheck, Rng } from '@vca/ml';
import { buildPreferenceLossGraph, FeatureTable, pairAccuracy, RewardHeadSession, trainRewardHead } from '@vca/reward';

const dims = { styleDim: 6, embedDim: 4, hidden: 5 };
const norm = { mean: new Float32Array(6), std: new Float32Array(6).fill(1) };

function feeds(B: number, over: { ref?: number[]; label?: number[]; weight?: number[] } = {}) {
  const rng = new Rng(11);
  const unit = (n: number) => {
    const v = rng.normalArray(n * 4);
    for (let i = 0; i < n; i++) {
      const s = Math.hypot(...v.slice(i * 4, i * 4 + 4));
      for (let j = 0; j < 4; j++) v[i * 4 + j]! /= s;
    }
    return v;
  };
  return {
    style_features: new ort.Tensor('float32', rng.normalArray(2 * B * 6), [2 * B, 6]),
    image_embeds: new ort.Tensor('float32', unit(2 * B), [2 * B, 4]),
    text_embeds: new ort.Tensor('float32', unit(2 * B), [2 * B, 4]),
    ref_margin: new ort.Tensor('float32', Float32Array.from(over.ref ?? Array(B).fill(0)), [B]),
    label: new ort.Tensor('float32', Float32Array.from(over.label ?? Array(B).fill(1)), [B]),
    weight: new ort.Tensor('float32', Float32Array.from(over.weight ?? Array(B).fill(1)), [B]),
  };
}

describe('preference loss graph (DPO / Bradley–Terry)', () => {
  it('has gradients that match finite differences for every head tensor', async () => {
    const { graph, loss } = buildPreferenceLossGraph(dims, norm, 3, { beta: 0.7, seed: 2 });
    const f = feeds(3, { ref: [0.3, -0.2, 0.1], label: [1, 0.5, 1], weight: [1, 2, 0.5] });
    const results = await gradCheck(graph, { loss, wrt: ['head.fc1.weight', 'head.fc1.bias', 'head.fc2.weight', 'head.fc2.bias', 'head.cos_scale'], feeds: f, eps: 1e-2 });
    for (const r of results) {
      // The output bias cancels in r⁺ − r⁻: its gradient is exactly zero (finite differences: noise).
      if (r.name === 'head.fc2.bias') expect(Math.abs(r.analytic)).toBeLessThan(1e-6);
      else expect(r.relError, `${r.name}: ${r.analytic} vs ${r.numeric}`).toBeLessThan(2e-2);
    }
  });

  it('has gradients that match finite differences with per-image offsets', async () => {
    const { graph, loss } = buildPreferenceLossGraph(dims, norm, 2, { imageOffsets: 5, offsetPenalty: 0.3 });
    graph.initializers.set('offset.images', { dtype: 'float32', dims: [5], data: Float32Array.of(0.01, -0.02, 0.005, 0.03, -0.01) });
    const f = { ...feeds(2), image_index: new ort.Tensor('int64', BigInt64Array.of(0n, 3n, 1n, 3n), [4]) };
    const results = [
      ...(await gradCheck(graph, { loss, wrt: ['offset.images'], feeds: f, eps: 1e-3 })),
      ...(await gradCheck(graph, { loss, wrt: ['head.fc1.weight'], feeds: f, eps: 1e-2 })),
    ];
    for (const r of results) expect(r.relError, `${r.name}: ${r.analytic} vs ${r.numeric}`).toBeLessThan(2e-2);
  });

  it('is −log σ(β·[(r⁺ − r⁻) − ref]) for labelled pairs, weighted, and ignores zero-weight padding', async () => {
    const B = 2;
    const { graph, loss } = buildPreferenceLossGraph(dims, norm, B, { beta: 2 });
    const { session } = await createSession(graph, { threads: 1 });
    // The head's scores, from the scoring graph with the same initial weights.
    const head = await RewardHeadSession.create({ dims, tensors: new Map([...graph.initializers].filter(([k]) => /^(head|norm)\./.test(k))) });
    const f = feeds(B, { ref: [0.25, 0], label: [1, 1], weight: [1, 0] });
    const r = await head.score(f.style_features.data as Float32Array, f.image_embeds.data as Float32Array, f.text_embeds.data as Float32Array);
    const d = r.reward[0]! - r.reward[2]! - 0.25;
    const expected = Math.log1p(Math.exp(-2 * d));
    const got = (await session.run(f))[loss]!.data as Float32Array;
    expect(got[0]).toBeCloseTo(expected, 4);
    await head.release();
  });

  it('pulls a tie (label ½) towards equal scores: its loss is smallest at a zero margin', async () => {
    const B = 1;
    const { graph, loss } = buildPreferenceLossGraph(dims, norm, B);
    const { session } = await createSession(graph, { threads: 1 });
    const base = feeds(B, { label: [0.5] });
    const at = async (ref: number) => ((await session.run({ ...base, ref_margin: new ort.Tensor('float32', Float32Array.of(ref), [1]) }))[loss]!.data as Float32Array)[0]!;
    const head = await RewardHeadSession.create({ dims, tensors: new Map([...graph.initializers].filter(([k]) => /^(head|norm)\./.test(k))) });
    const r = await head.score(base.style_features.data as Float32Array, base.image_embeds.data as Float32Array, base.text_embeds.data as Float32Array);
    const margin = r.reward[0]! - r.reward[1]!;
    // ref = margin makes d = 0: log 2, the minimum of the symmetric soft-label loss.
    expect(await at(margin)).toBeCloseTo(Math.log(2), 5);
    expect(await at(margin + 1)).toBeGreaterThan(Math.log(2));
    expect(await at(margin - 1)).toBeGreaterThan(Math.log(2));
    await head.release();
  });
});

describe('head training on cached features', () => {
  it('learns a preference the cosine cannot see, and a DPO run starts from its reference', async () => {
    // Images whose first style dimension is what raters like; embeddings are random.
    const rng = new Rng(4);
    const n = 400;
    const style = rng.normalArray(n * 6);
    const emb = () => {
      const v = rng.normalArray(n * 4);
      for (let i = 0; i < n; i++) {
        const s = Math.hypot(...v.slice(i * 4, i * 4 + 4));
        for (let j = 0; j < 4; j++) v[i * 4 + j]! /= s;
      }
      return v;
    };
    const table = new FeatureTable(6, 4, style, emb(), emb().slice(0, 4));
    const pairs = Array.from({ length: 600 }, () => {
      const a = rng.int(n);
      const b = rng.int(n);
      return style[a * 6]! > style[b * 6]! ? { prompt: 0, winner: a, loser: b, label: 1 } : { prompt: 0, winner: b, loser: a, label: 1 };
    }).filter((p) => p.winner !== p.loser);
    const train = pairs.slice(0, 500);
    const test = pairs.slice(500);
    const res = await trainRewardHead({ table, pairs: train, config: { hidden: 8, epochs: 20, batch: 50, lr: 1e-2, threads: 1 } });
    const head = await RewardHeadSession.create(res.weights);
    const acc = await pairAccuracy(head, table, test);
    expect(acc.accuracy).toBeGreaterThan(0.9);
    expect(acc.cosineAccuracy).toBeLessThan(0.7);
    // DPO with the trained head as reference: zero steps of change keep its accuracy, and the
    // normalisation is the reference's.
    const dpo = await trainRewardHead({ table, pairs: train, reference: res.weights, config: { epochs: 1, batch: 50, lr: 1e-4, threads: 1 } });
    expect(dpo.weights.tensors.get('norm.mean')!.data).toEqual(res.weights.tensors.get('norm.mean')!.data);
    const again = await RewardHeadSession.create(dpo.weights);
    expect((await pairAccuracy(again, table, test)).accuracy).toBeGreaterThan(0.88);
    await Promise.all([head.release(), again.release()]);
  });
});
