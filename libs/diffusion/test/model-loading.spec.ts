import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, encodeModel, loadModel, saveModel } from '@vca/ml';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionModelError, DiffusionPipeline, LoraAdapter, StableDiffusionModel, vaeEncoderToMode, writeFixtureLora, writeFixtureModel } from '../src';

const FIXTURE = { seed: 5, imageSize: 32, maxLength: 16 } as const;
const request = { prompt: 'a small green square', steps: 4, guidanceScale: 5, candidates: [{ seed: 3 }] };
let root: string;
let reference: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'vca-diffusion-load-'));
  reference = join(root, 'reference');
  writeFixtureModel(reference, FIXTURE);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the reference fixture, altered by `edit`. */
function variant(name: string, edit: (dir: string) => void): string {
  const dir = join(root, name);
  cpSync(reference, dir, { recursive: true });
  edit(dir);
  return dir;
}

async function expectLoadError(dir: string, code: string, message: RegExp): Promise<void> {
  const err = await StableDiffusionModel.load(dir, { threads: 1 }).then(
    async (m) => (await m.dispose(), null),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DiffusionModelError);
  expect(err).toMatchObject({ code });
  expect((err as Error).message).toMatch(message);
}

describe(StableDiffusionModel.name, () => {
  it('reads sizes and the VAE scaling factor from the export', async () => {
    const m = await StableDiffusionModel.load(variant('scaling', (d) => writeFixtureModel(d, { ...FIXTURE, scalingFactor: 0.13025 })), { threads: 1 });
    expect([m.imageSize, m.latentSize, m.latentChannels, m.vaeScalingFactor, m.tokenizer.maxLength]).toEqual([32, 4, 4, 0.13025, 16]);
    await m.dispose();
    await expect(m.encodeText(['a'])).rejects.toThrow(/disposed/);
  });

  it('CUDA asked for on a CPU-only onnxruntime-node: falls back with a warning, or throws with requireDevice', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const m = await StableDiffusionModel.load(reference, { executionProvider: 'cuda', threads: 1 });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(m.unet.device).toBe('cpu');
    expect(warnings.join('\n')).toMatch(/CUDA unavailable.*Falling back to CPU/);
    await m.dispose();
    await expect(StableDiffusionModel.load(reference, { executionProvider: 'cuda', requireDevice: true })).rejects.toThrow(/CUDA unavailable/);
  });

  it('fixed-size exports refuse other sizes, naming theirs', async () => {
    const m = await StableDiffusionModel.load(variant('fixed', (d) => writeFixtureModel(d, { ...FIXTURE, dynamicSize: false })), { threads: 1 });
    expect(m.unet.input('sample').shape).toEqual(['batch', 4, 4, 4]);
    expect(m.latentShapeFor()).toEqual({ h: 4, w: 4 });
    expect(() => m.latentShapeFor(64, 64)).toThrow(/only generates 32×32 images, asked for 64×64/);
    await m.dispose();
  });

  it('names a missing component file', async () => {
    await expectLoadError(variant('no-vae', (d) => rmSync(join(d, 'vae_decoder', 'model.onnx'))), 'MISSING_FILE', /vae_decoder\/model\.onnx/);
    await expectLoadError(variant('no-sched', (d) => rmSync(join(d, 'scheduler'), { recursive: true })), 'MISSING_FILE', /scheduler\/scheduler_config\.json/);
    await expectLoadError(variant('no-index', (d) => rmSync(join(d, 'model_index.json'))), 'MISSING_FILE', /model_index\.json/);
  });

  it('rejects an unsupported config value naming the field', async () => {
    const dir = variant('bad-config', (d) =>
      writeFileSync(join(d, 'scheduler', 'scheduler_config.json'), JSON.stringify({ beta_schedule: 'sigmoid', num_train_timesteps: 1000 })),
    );
    await expectLoadError(dir, 'UNSUPPORTED_CONFIG', /beta_schedule "sigmoid" is not supported/);
  });

  it('reports a file ONNX Runtime cannot parse', async () => {
    await expectLoadError(variant('corrupt', (d) => writeFileSync(join(d, 'vae_decoder', 'model.onnx'), 'not onnx')), 'INVALID_MODEL', /vae_decoder: ONNX Runtime cannot load/);
  });

  it('rejects wrong tensor names and mismatched widths', async () => {
    const swapped = variant('swapped', (d) => cpSync(join(d, 'vae_decoder', 'model.onnx'), join(d, 'unet', 'model.onnx')));
    await expectLoadError(swapped, 'WRONG_SHAPE', /unet.*expected input "sample", model has latent_sample/);
    const narrow = join(root, 'narrow');
    writeFixtureModel(narrow, { ...FIXTURE, textHidden: 16 });
    const mixed = variant('mixed', (d) => cpSync(join(narrow, 'text_encoder'), join(d, 'text_encoder'), { recursive: true }));
    await expectLoadError(mixed, 'WRONG_SHAPE', /last_hidden_state width vs unet encoder_hidden_states width: 16 vs 32/);
  });
});

describe('export variants give the same images', () => {
  it('external data (unet/model.onnx_data), vocab.json + merges.txt, float timestep, fp16 inputs/outputs', async () => {
    const dirs = [
      reference,
      variant('external', (d) => writeFixtureModel(d, { ...FIXTURE, externalData: true })),
      variant('vocab', (d) => (rmSync(join(d, 'tokenizer'), { recursive: true }), writeFixtureModel(d, { ...FIXTURE, tokenizerFormat: 'vocab-merges' }))),
      variant('float-t', (d) => writeFixtureModel(d, { ...FIXTURE, timestepType: 'float32' })),
    ];
    const fp16 = variant('fp16-io', (d) => writeFixtureModel(d, { ...FIXTURE, ioDtype: 'float16' }));
    expect(existsSync(join(dirs[1]!, 'unet', 'model.onnx_data'))).toBe(true);
    expect(existsSync(join(dirs[2]!, 'tokenizer', 'tokenizer.json'))).toBe(false);
    const latents: Float32Array[] = [];
    for (const dir of dirs) {
      const pipe = await DiffusionPipeline.load(dir, { threads: 1 });
      latents.push((await pipe.generate(request)).images[0]!.latent);
      await pipe.dispose();
    }
    for (const l of latents.slice(1)) expect(Array.from(l)).toEqual(Array.from(latents[0]!));

    // fp16 at every boundary: same image up to half-precision rounding of the tensors passed.
    const pipe = await DiffusionPipeline.load(fp16, { threads: 1 });
    expect(pipe.model.unet.input('sample').type).toBe('float16');
    const half = (await pipe.generate(request)).images[0]!.latent;
    await pipe.dispose();
    const scale = Math.max(...Array.from(latents[0]!, Math.abs));
    const maxDiff = half.reduce((m, v, i) => Math.max(m, Math.abs(v - latents[0]![i]!)), 0);
    expect(maxDiff / scale).toBeLessThan(0.05);
  });

  it('static batch-1 exports are run in chunks and give the same images', async () => {
    const req = { ...request, candidates: [{ seed: 3 }, { seed: 4 }, { seed: 5 }] };
    const run = async (dir: string, initImage?: Uint8Array) => {
      const pipe = await DiffusionPipeline.load(dir, { threads: 1 });
      const r = await pipe.generate({ ...req, initImage, candidates: req.candidates.map((c) => ({ ...c, strength: 0.75 })) });
      await pipe.dispose();
      return r.images;
    };
    const dynamic = await run(reference);
    const staticDir = variant('static-b1', (d) => writeFixtureModel(d, { ...FIXTURE, batch: 1 }));
    const fixed = await run(staticDir);
    fixed.forEach((im, i) => expect(im.latent.reduce((m, v, q) => Math.max(m, Math.abs(v - dynamic[i]!.latent[q]!)), 0)).toBeLessThan(1e-3));
    const i2i = await run(staticDir, fixed[0]!.png);
    expect(i2i).toHaveLength(3);
  });

  it('v_prediction models run with every scheduler', async () => {
    const dir = variant('vpred', (d) => writeFixtureModel(d, { ...FIXTURE, predictionType: 'v_prediction', scheduler: { timestep_spacing: 'trailing' } }));
    const pipe = await DiffusionPipeline.load(dir, { threads: 1 });
    expect(pipe.model.schedulerConfig.prediction_type).toBe('v_prediction');
    for (const scheduler of ['ddim', 'euler_a', 'dpmpp_2m'] as const) {
      expect((await pipe.generate({ ...request, scheduler })).images[0]!.latent.every(Number.isFinite)).toBe(true);
    }
    await pipe.dispose();
  });
});

describe('VAE encoder variants', () => {
  it('in-graph sampling (RandomNormalLike) is turned into the mean; latent_parameters is reduced to it', async () => {
    const pixels = new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i / 7));
    const encode = async (vaeEncoderOutput: 'mean' | 'sample' | 'parameters') => {
      const m = await StableDiffusionModel.load(variant(`enc-${vaeEncoderOutput}`, (d) => writeFixtureModel(d, { ...FIXTURE, vaeEncoderOutput })), { threads: 1 });
      const a = await m.encode(pixels, [1, 3, 32, 32]);
      const b = await m.encode(pixels, [1, 3, 32, 32]);
      await m.dispose();
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      expect(a.dims).toEqual([1, 4, 4, 4]);
      return a.data;
    };
    const mean = await encode('mean');
    expect(Array.from(await encode('sample'))).toEqual(Array.from(mean));
    expect(Array.from(await encode('parameters'))).toEqual(Array.from(mean));
  });

  it('RandomNormal with a static shape becomes zeros too; graphs without random ops are untouched', async () => {
    const g = new GraphBuilder('t');
    g.input('x', 'float32', [2, 3]);
    g.op('Add', ['x', g.op('RandomNormal', [], { shape: [2, 3], scale: 1.0 })], {}, 'y');
    g.output('y', 'float32', [2, 3]);
    const rewritten = vaeEncoderToMode(encodeModel(g.build()).model)!;
    expect(rewritten.replaced).toBe(1);
    const s = await ort.InferenceSession.create(rewritten.model);
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from((await s.run({ x: new ort.Tensor('float32', x, [2, 3]) }))['y']!.data as Float32Array)).toEqual(Array.from(x));
    await s.release();
    expect(vaeEncoderToMode(readFileSync(join(reference, 'vae_encoder', 'model.onnx')))).toBeNull();
  });
});

describe('run-time LoRA against merged weights', () => {
  it('W·x + (x·D)·U at run time equals a UNet with W + s·(α/r)·B·A merged in', async () => {
    const pipe = await DiffusionPipeline.load(reference, { threads: 1 });
    const loraPath = join(root, 'merge.safetensors');
    writeFixtureLora(loraPath, pipe.lora!.targets, { seed: 4, rank: 3, std: 0.3, naming: 'kohya', alpha: 1.5 });
    const adapter = pipe.loadLora(loraPath);
    const scale = 0.8;
    const runtime = (await pipe.generate({ ...request, loras: [{ lora: adapter, scale }] })).images[0]!.latent;
    const workDir = join(pipe.lora!.unetPath, '..');
    await pipe.dispose();
    expect(existsSync(workDir)).toBe(false);

    // Merge ΔWᵀ[i, o] = s·(α/r)·Σ_j A[j, i]·B[o, j] into each exported weight [in, out].
    const merged = variant('merged', () => undefined);
    const graph = loadModel(join(merged, 'unet', 'model.onnx'));
    const loaded = LoraAdapter.load(loraPath);
    let count = 0;
    for (const node of graph.nodes) {
      const path = node.name.match(/^\/(.+\/attn\d\/(?:to_q|to_k|to_v|to_out\.0))\/MatMul$/)?.[1]?.split('/').join('.');
      const m = path && loaded.modules.get(`lora_unet_${path.replaceAll('.', '_')}`);
      if (!m) continue;
      const w = graph.initializers.get(node.inputs[1]!)!.data as Float32Array;
      const k = (scale * m.alpha!) / m.rank;
      for (let i = 0; i < m.inDim; i++)
        for (let o = 0; o < m.outDim; o++) {
          let delta = 0;
          for (let j = 0; j < m.rank; j++) delta += m.down[j * m.inDim + i]! * m.up[o * m.rank + j]!;
          w[i * m.outDim + o] = w[i * m.outDim + o]! + k * delta;
        }
      count++;
    }
    expect(count).toBe(24);
    saveModel(join(merged, 'unet', 'model.onnx'), graph);
    const plain = await DiffusionPipeline.load(merged, { threads: 1, runtimeLora: false });
    const offline = (await plain.generate(request)).images[0]!.latent;
    await plain.dispose();
    const maxDiff = runtime.reduce((mx, v, i) => Math.max(mx, Math.abs(v - offline[i]!)), 0);
    expect(maxDiff).toBeLessThan(1e-3);
  });
});
