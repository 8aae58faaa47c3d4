import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '@vca/ml';
import { DiffusionPipeline } from '@vca/diffusion';
import { buildTokenizer, decodeImage, encodePng, sampleScene, SceneRenderer, toChwFloat } from '@vca/world';
import { buildVaeEncoderGraph, DualEncoder, exportModelFamily, ModelFamilyConfigSchema, pixelUnshuffle, RECOMMENDED_GUIDANCE, TINY_CONFIG, worldTokenizer } from '../src';

describe('exportModelFamily (tiny config, seeded weights)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vca-mf-export-'));
  const config = ModelFamilyConfigSchema.parse(TINY_CONFIG);
  let pipe: DiffusionPipeline;

  beforeAll(async () => {
    const tok = buildTokenizer();
    exportModelFamily(dir, { config, vocabSize: tok.vocabSize, maxLength: tok.maxLength, training: {} });
    pipe = await DiffusionPipeline.load(dir, { threads: 1 });
  });
  afterAll(async () => {
    await pipe?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('recommends the guidance scale the family was tuned for (model_index.json), and the loader reads it', () => {
    expect(JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8'))._vca_guidance_scale).toBe(RECOMMENDED_GUIDANCE);
    expect(pipe.model.recommendedGuidance).toBe(RECOMMENDED_GUIDANCE);
  });

  it('loads in DiffusionPipeline and generates 64×64 images, text-to-image and img2img', async () => {
    const t2i = await pipe.generate({ prompt: 'a red circle on a blue background', candidates: [{ seed: 1 }, { seed: 2 }], steps: 2, guidanceScale: 3 });
    expect(t2i.images.map((i) => [i.width, i.height])).toEqual([[64, 64], [64, 64]]);
    const i2i = await pipe.generate({ prompt: 'make it green', initImage: t2i.images[0]!.png, candidates: [{ seed: 3, strength: 0.5 }], steps: 4 });
    expect(i2i.images[0]!.png.length).toBeGreaterThan(0);
  });

  it('round-trips an image exactly through the pixel-unshuffle VAE (img2img at strength 0)', async () => {
    const raster = new SceneRenderer({ size: 64 }).render(sampleScene(5));
    const { images } = await pipe.generate({ prompt: 'anything', initImage: encodePng(raster), candidates: [{ seed: 1, strength: 0 }], steps: 4 });
    const back = await decodeImage(Buffer.from(images[0]!.png));
    expect(Buffer.from(back.data).equals(Buffer.from(raster.data))).toBe(true);
  });

  it('uses the same pixel-unshuffle in training (TypeScript) as the exported vae_encoder (SpaceToDepth)', async () => {
    const x = toChwFloat(new SceneRenderer({ size: 64 }).render(sampleScene(9)));
    const { session } = await createSession(buildVaeEncoderGraph(4), { threads: 1 });
    const onnx = (await session.run({ sample: new ort.Tensor('float32', x, [1, 3, 64, 64]) }))['latent_sample']!;
    const ts = new Float32Array(onnx.data.length);
    pixelUnshuffle(x, 64, 4, ts);
    expect(onnx.dims).toEqual([1, 48, 16, 16]);
    expect(Array.from(ts)).toEqual(Array.from(onnx.data as Float32Array));
    await session.release();
  });

  it('ships the dual encoder with unit-norm image and text embeddings', async () => {
    const dual = await DualEncoder.load(dir, worldTokenizer(), 64, 1);
    const renderer = new SceneRenderer({ size: 64 });
    const pixels = new Float32Array(2 * 3 * 64 * 64);
    toChwFloat(renderer.render(sampleScene(1)), pixels, 0);
    toChwFloat(renderer.render(sampleScene(2)), pixels, 3 * 64 * 64);
    const img = await dual.embedImages(pixels, 2);
    const txt = await dual.embedTexts(['a red circle', 'a blue square on a green background']);
    const d = config.dual.embedDim;
    for (const e of [img, txt]) for (let i = 0; i < 2; i++) expect(Math.hypot(...e.subarray(i * d, (i + 1) * d))).toBeCloseTo(1, 4);
    await dual.release();
  });
});
