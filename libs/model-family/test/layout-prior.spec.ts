import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createSession, GraphBuilder, Rng } from '@vca/ml';
import { buildTokenizer, DEFAULT_STYLE, SceneRenderer, SHAPES, specOf, toChwFloat, type Scene, type SceneSpec } from '@vca/world';
import { textWeightsFor } from './text-weights.util';
import {
  createDiffusionTrainer,
  diffusionBatcher,
  exportModelFamily,
  GROUNDING_DIM,
  LABEL_DIM,
  layoutPriorLayers,
  ModelFamilyConfigSchema,
  PARSER_SLOTS,
  parserLabels,
  pixelUnshuffle,
  shapeCoverageTemplates,
  TINY_CONFIG,
  unetDims,
  warmStartFromExport,
  worldTokenizer,
} from '../src';

const config = ModelFamilyConfigSchema.parse({});
const dims = unetDims(config, 56);
const layout = dims.grounding!.layout!;
const M = PARSER_SLOTS.length;

/** Grounding tokens a perfectly sure parser would emit for a spec: [identity·named ‖ one-hot labels]. */
function tokensFor(specs: readonly SceneSpec[]): Float32Array {
  const out = new Float32Array(specs.length * M * GROUNDING_DIM);
  specs.forEach((spec, n) => {
    const labels = parserLabels(spec);
    for (let s = 0; s < M; s++) {
      const base = (n * M + s) * GROUNDING_DIM;
      out[base + s] = labels[s * LABEL_DIM + 1]!;
      out.set(labels.subarray(s * LABEL_DIM, (s + 1) * LABEL_DIM), base + M);
    }
  });
  return out;
}

async function priorOf(specs: readonly SceneSpec[]): Promise<{ image: Float32Array; masks: Float32Array }> {
  const g = new GraphBuilder('prior');
  const context = g.input('context', 'float32', ['batch', M, GROUNDING_DIM]);
  const { image, masks } = layoutPriorLayers(g, context, dims.grounding!.cellsOffset, layout);
  g.op('Identity', [image], {}, 'image');
  g.op('Identity', [masks], {}, 'masks');
  g.output('image', 'float32', ['batch', dims.latentChannels, dims.latentSize, dims.latentSize]);
  g.output('masks', 'float32', ['batch', 'channels', dims.latentSize, dims.latentSize]);
  const { session } = await createSession(g.build(), { threads: 1 });
  const out = await session.run({ context: new ort.Tensor('float32', tokensFor(specs), [specs.length, M, GROUNDING_DIM]) });
  return { image: out['image']!.data as Float32Array, masks: out['masks']!.data as Float32Array };
}

/** One slot's coverage out of the pixel-unshuffled masks (SpaceToDepth puts the sub-pixel offset first: channel = offset·slots + slot). */
function slotMask(masks: Float32Array, slot: number): Float32Array {
  const slots = SHAPES.length + 1;
  const S2 = dims.latentSize ** 2;
  const offsets = config.vaeFactor ** 2;
  const out = new Float32Array(offsets * S2);
  for (let b = 0; b < offsets; b++) out.set(masks.subarray((b * slots + slot) * S2, (b * slots + slot + 1) * S2), b * S2);
  return out;
}

describe('layout prior (the grounding tokens drawn as an expected image)', () => {
  it('templates cover each shape where the renderer draws it, and "unsaid" is the mean over the choices', () => {
    const t = shapeCoverageTemplates(64);
    const P = 64 * 64;
    const sum = (at: number) => t.subarray(at * P, (at + 1) * P).reduce((a, b) => a + b, 0);
    // circle, large, centre: about π·(0.145·64)² pixels.
    const largeCircle = sum((0 * 4 + 2) * 10 + 4);
    expect(largeCircle).toBeGreaterThan(0.9 * Math.PI * (0.145 * 64) ** 2);
    expect(largeCircle).toBeLessThan(1.1 * Math.PI * (0.145 * 64) ** 2);
    const unsaidCell = sum((0 * 4 + 2) * 10 + 9);
    expect(Math.abs(unsaidCell - largeCircle)).toBeLessThan(0.01 * largeCircle);
    expect(t.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('turns a fully named prompt into its unstyled render, in latent units', async () => {
    const scene: Scene = {
      background: 'green',
      objects: [
        { shape: 'star', color: 'red', size: 'large', position: 'top-left' },
        { shape: 'heart', color: 'yellow', size: 'small', position: 'bottom-right' },
      ],
      style: DEFAULT_STYLE,
    };
    const { image, masks } = await priorOf([specOf(scene)]);
    const render = toChwFloat(new SceneRenderer({ size: 64 }).render(scene));
    const latent = new Float32Array(image.length);
    pixelUnshuffle(render, 64, config.vaeFactor, latent);
    let worst = 0;
    for (let i = 0; i < latent.length; i++) worst = Math.max(worst, Math.abs(latent[i]! * config.scalingFactor - image[i]!));
    // Anti-aliased edges blend the same way; the largest gap is a few sRGB levels.
    expect(worst).toBeLessThan((8 / 127.5) * config.scalingFactor);
    // Coverage masks: one per shape slot and the background, summing to 1 where shapes do not overlap.
    expect(masks.length).toBe((SHAPES.length + 1) * 64 * 64);
    const P = 64 * 64;
    const total = (slot: number) => slotMask(masks, slot).reduce((a, b) => a + b, 0);
    expect(total(SHAPES.indexOf('circle'))).toBe(0);
    expect(total(SHAPES.indexOf('star'))).toBeGreaterThan(50);
    expect(total(SHAPES.indexOf('star')) + total(SHAPES.indexOf('heart')) + total(SHAPES.length)).toBeCloseTo(P, 0);
  });

  it('spreads what a prompt leaves open: an unsaid colour is neutral, an unsaid cell covers every cell thinly', async () => {
    const { image } = await priorOf([{ objects: [{ shape: 'square' }] }]);
    // No background, no colour named: every value is the neutral 0.
    expect(Math.max(...image.map(Math.abs))).toBeLessThan(1e-6);
    const { masks } = await priorOf([{ objects: [{ shape: 'square', size: 'large' }] }]);
    const square = slotMask(masks, SHAPES.indexOf('square'));
    expect(Math.max(...square)).toBeLessThan(0.2);
    expect(square.reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
  });
});

describe('layout prior in the UNet', () => {
  it('starts at zero, so a UNet warm-started from an export without it computes the same loss; then it trains', async () => {
    const tok = buildTokenizer();
    const tokenizer = worldTokenizer();
    const BATCH = 4;
    const hyper = { lr: 3e-3, steps: 10, warmupSteps: 0, emaDecay: 0.9, threads: 1, seed: 8 };
    const dir = mkdtempSync(join(tmpdir(), 'vca-mf-prior-'));
    try {
      const plain = ModelFamilyConfigSchema.parse({ ...TINY_CONFIG, unet: { ...TINY_CONFIG.unet, layoutPrior: false } });
      const withPrior = ModelFamilyConfigSchema.parse(TINY_CONFIG);
      expect(withPrior.unet.layoutPrior).toBe(true);
      const text = await textWeightsFor(plain, tokenizer, tok.vocabSize, BATCH, hyper);
      const a = await createDiffusionTrainer(plain, tokenizer, tok.vocabSize, BATCH, hyper, text.frozen);
      const batch = diffusionBatcher({ config: plain, seed: 8, batch: BATCH, tokenizer });
      const rng = new Rng(4);
      for (let s = 0; s < 3; s++) await a.trainStep(batch(s, rng));
      exportModelFamily(dir, { config: plain, vocabSize: tok.vocabSize, maxLength: tok.maxLength, diffusionWeights: a.weights('current'), dualWeights: text.dual, parserWeights: text.parser, training: {} });
      const feeds = batch(50, rng);
      const lossA = (await a.lossAndGradients(feeds)).loss;
      await a.release();

      const b = await createDiffusionTrainer(withPrior, tokenizer, tok.vocabSize, BATCH, hyper, text.frozen);
      expect(warmStartFromExport(b, dir).sort()).toEqual(['layout.image_in.bias', 'layout.image_in.weight', 'layout.mask_in.bias', 'layout.mask_in.weight', 'layout_gate.bias', 'layout_gate.weight']);
      const { loss: lossB, grads } = await b.lossAndGradients(feeds);
      expect(lossB).toBeCloseTo(lossA, 5);
      for (const name of ['layout_gate.bias', 'layout.image_in.weight', 'layout.mask_in.weight']) expect(Math.max(...grads.get(name)!.map(Math.abs)), name).toBeGreaterThan(0);
      await b.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
