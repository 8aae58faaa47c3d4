import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createSession, GraphBuilder, loadModel, Rng, type Graph } from '@vca/ml';
import { buildTokenizer, DEFAULT_STYLE, POSITIONS, SceneRenderer, SHAPES, specOf, toChwFloat, type Scene, type SceneSpec } from '@vca/world';
import { trainBrieflyAndExport, WARM_START_BATCH, WARM_START_HYPER } from './warm-start.util';
import {
  buildCondUNetGraph,
  createDiffusionTrainer,
  GROUNDING_DIM,
  LABEL_DIM,
  layoutPriorLayers,
  resolveUnsaidCells,
  sceneFor,
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

/** Runs resolveUnsaidCells; returns each prompt's shape-slot cell distributions [N, shapes, 10]. */
async function resolvedCells(specs: readonly SceneSpec[], samples: Float32Array): Promise<Float32Array> {
  const g = new GraphBuilder('resolve');
  const context = g.input('context', 'float32', ['batch', M, GROUNDING_DIM]);
  const sample = g.input('sample', 'float32', ['batch', dims.latentChannels, dims.latentSize, dims.latentSize]);
  const cellsOffset = dims.grounding!.cellsOffset;
  const placed = resolveUnsaidCells(g, context, sample, cellsOffset, layout);
  g.op('Identity', [g.slice(placed, [0, cellsOffset], [SHAPES.length, GROUNDING_DIM], [1, 2])], {}, 'cells');
  g.output('cells', 'float32', ['batch', SHAPES.length, 10]);
  const { session } = await createSession(g.build(), { threads: 1 });
  const S = dims.latentSize;
  const out = await session.run({
    context: new ort.Tensor('float32', tokensFor(specs), [specs.length, M, GROUNDING_DIM]),
    sample: new ort.Tensor('float32', samples, [specs.length, dims.latentChannels, S, S]),
  });
  return out['cells']!.data as Float32Array;
}

describe('cells for shapes whose place the prompt leaves open', () => {
  const spec: SceneSpec = { background: 'blue', objects: [{ shape: 'square', color: 'red', size: 'large' }, { shape: 'star', color: 'yellow', size: 'small', position: 'center' }] };
  const square = SHAPES.indexOf('square');
  const star = SHAPES.indexOf('star');
  const argmax = (cells: Float32Array, n: number, slot: number) => {
    const row = cells.subarray((n * SHAPES.length + slot) * 10, (n * SHAPES.length + slot + 1) * 10);
    return row.indexOf(Math.max(...row));
  };

  it('are read from the sample: where the image already shows the shape (an img2img edit keeps it in place)', async () => {
    const scene: Scene = { background: 'blue', objects: [{ shape: 'square', color: 'red', size: 'large', position: 'bottom-left' }, { shape: 'star', color: 'yellow', size: 'small', position: 'center' }], style: DEFAULT_STYLE };
    const latent = new Float32Array(dims.latentChannels * dims.latentSize ** 2);
    pixelUnshuffle(toChwFloat(new SceneRenderer({ size: 64 }).render(scene)), 64, config.vaeFactor, latent);
    const cells = await resolvedCells([spec], latent.map((v) => v * config.scalingFactor));
    expect(cells[(0 * SHAPES.length + square) * 10 + POSITIONS.indexOf('bottom-left')]).toBeGreaterThan(0.99);
    expect(cells[(0 * SHAPES.length + square) * 10 + 9]).toBe(0);
    // A named place is left as the prompt says.
    expect(argmax(cells, 0, star)).toBe(POSITIONS.indexOf('center'));
  });

  it('never move onto a named shape, however much it stands out', async () => {
    // The square (unsaid place, white) is drawn faintly at the top right; a large yellow triangle
    // named at the centre has far more contrast against the blue background.
    const open: SceneSpec = { background: 'blue', objects: [{ shape: 'square', color: 'white', size: 'medium' }, { shape: 'triangle', color: 'yellow', size: 'large', position: 'center' }] };
    const scene: Scene = { background: 'blue', objects: [{ shape: 'square', color: 'white', size: 'medium', position: 'top-right' }, { shape: 'triangle', color: 'yellow', size: 'large', position: 'center' }], style: DEFAULT_STYLE };
    const background: Scene = { background: 'blue', objects: [{ shape: 'triangle', color: 'yellow', size: 'large', position: 'center' }], style: DEFAULT_STYLE };
    const renderer = new SceneRenderer({ size: 64 });
    const [withSquare, without] = [scene, background].map((s) => toChwFloat(renderer.render(s)));
    const faint = withSquare!.map((v, i) => 0.2 * v + 0.8 * without![i]!);
    const latent = new Float32Array(dims.latentChannels * dims.latentSize ** 2);
    pixelUnshuffle(faint, 64, config.vaeFactor, latent);
    const cells = await resolvedCells([open], latent.map((v) => v * config.scalingFactor));
    expect(argmax(cells, 0, square)).toBe(POSITIONS.indexOf('top-right'));
  });

  it('vary with the noise they start from, and never take a cell another shape is named at', async () => {
    const n = 24;
    const rng = new Rng(5);
    const per = dims.latentChannels * dims.latentSize ** 2;
    const noise = Float32Array.from({ length: n * per }, () => rng.normal());
    const cells = await resolvedCells(Array.from({ length: n }, () => spec), noise);
    const picks = Array.from({ length: n }, (_, i) => argmax(cells, i, square));
    expect(new Set(picks).size).toBeGreaterThanOrEqual(4);
    expect(picks).not.toContain(POSITIONS.indexOf('center'));
    // Mostly one-hot already from pure noise, so no faint copy of the shape is spread over the image.
    const top = picks.map((c, i) => cells[(i * SHAPES.length + square) * 10 + c]!).sort((a, b) => a - b);
    expect(top[0]).toBeGreaterThan(0.5);
    expect(top[n >> 1]).toBeGreaterThan(0.9);
  });
});

describe('layout prior in the UNet', () => {
  it('starts at zero: a warm-started UNet computes what its export did for tokens that name every place; then it trains', async () => {
    const tok = buildTokenizer();
    const BATCH = WARM_START_BATCH;
    const dir = mkdtempSync(join(tmpdir(), 'vca-mf-prior-'));
    try {
      const plain = ModelFamilyConfigSchema.parse({ ...TINY_CONFIG, unet: { ...TINY_CONFIG.unet, layoutPrior: false } });
      const withPrior = ModelFamilyConfigSchema.parse(TINY_CONFIG);
      expect(withPrior.unet.layoutPrior).toBe(true);
      const { trainer: a, batch, rng, frozen } = await trainBrieflyAndExport(plain, dir);
      await a.release();

      // Same function: the exported UNet and the prior UNet with its new tensors at zero, on tokens
      // that name every place (a place left open gets a cell picked from the sample, on purpose).
      const exported = loadModel(join(dir, 'unet', 'model.onnx'));
      const priorGraph = buildCondUNetGraph(unetDims(withPrior, tok.maxLength));
      const fresh = [...priorGraph.initializers.keys()].filter((k) => !exported.initializers.has(k) && /\.(weight|bias)$/.test(k));
      expect(fresh.sort()).toEqual(['layout.image_in.bias', 'layout.image_in.weight', 'layout.mask_in.bias', 'layout.mask_in.weight', 'layout_gate.bias', 'layout_gate.weight']);
      for (const [k, t] of exported.initializers) if (/\.(weight|bias)$/.test(k) && priorGraph.initializers.has(k)) priorGraph.initializers.set(k, t);
      const u = unetDims(plain, tok.maxLength);
      const specs = Array.from({ length: BATCH }, (_, i) => specOf(sceneFor(8, 'prior-test', i, 'train')));
      const feeds = {
        sample: new ort.Tensor('float32', Float32Array.from({ length: BATCH * u.latentChannels * u.latentSize ** 2 }, () => rng.normal()), [BATCH, u.latentChannels, u.latentSize, u.latentSize]),
        timestep: new ort.Tensor('float32', Float32Array.of(999, 600, 200, 10), [BATCH]),
        encoder_hidden_states: new ort.Tensor('float32', tokensFor(specs), [BATCH, M, GROUNDING_DIM]),
      };
      const run = async (graph: Graph) => {
        const { session } = await createSession(graph, { threads: 1 });
        return (await session.run(feeds))['out_sample']!.data as Float32Array;
      };
      const [before, after] = [await run(exported), await run(priorGraph)];
      expect(Math.max(...before.map((v, i) => Math.abs(v - after[i]!)))).toBeLessThan(1e-4);

      const b = await createDiffusionTrainer(withPrior, worldTokenizer(), tok.vocabSize, BATCH, WARM_START_HYPER, frozen);
      expect(warmStartFromExport(b, dir).sort()).toEqual(fresh.sort());
      const { grads } = await b.lossAndGradients(batch(50, rng));
      for (const name of ['layout_gate.bias', 'layout.image_in.weight', 'layout.mask_in.weight']) expect(Math.max(...grads.get(name)!.map(Math.abs)), name).toBeGreaterThan(0);
      await b.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
