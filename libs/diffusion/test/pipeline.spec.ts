import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveLora } from '@vca/ml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionPipeline, LoraAdapter, decodePng, writeFixtureLora, writeFixtureModel, type GenerateRequest } from '../src';

// Small fixture: 32×32 images (4×4 latents), 16-token context; one ORT thread (2-core CI box).
const FIXTURE = { seed: 3, imageSize: 32, maxLength: 16 } as const;
let dir: string;
let pipe: DiffusionPipeline;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vca-diffusion-pipe-'));
  writeFixtureModel(join(dir, 'model'), FIXTURE);
  pipe = await DiffusionPipeline.load(join(dir, 'model'), { threads: 1 });
});
afterAll(async () => {
  await pipe?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const base = { prompt: 'a red circle on blue background', steps: 6, guidanceScale: 7.5 } satisfies Partial<GenerateRequest>;
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('text-to-image', () => {
  it.each(['ddim', 'euler_a', 'dpmpp_2m'] as const)('%s: reproducible for a seed, different across seeds, finite', async (scheduler) => {
    const a = await pipe.generate({ ...base, scheduler, candidates: [{ seed: 1 }, { seed: 2 }] });
    const b = await pipe.generate({ ...base, scheduler, candidates: [{ seed: 1 }, { seed: 2 }] });
    expect(a.images).toHaveLength(2);
    expect(Buffer.from(a.images[0]!.png).equals(Buffer.from(b.images[0]!.png))).toBe(true);
    expect(Array.from(a.images[0]!.latent)).toEqual(Array.from(b.images[0]!.latent));
    expect(maxAbsDiff(a.images[0]!.latent, a.images[1]!.latent)).toBeGreaterThan(1e-3);
    expect(a.images.every((im) => im.latent.every(Number.isFinite))).toBe(true);
    expect(a.timings.unetCalls).toBe(6);
  });

  it("a candidate's image does not depend on the other candidates in the call", async () => {
    const alone = await pipe.generate({ ...base, candidates: [{ seed: 9 }] });
    const batched = await pipe.generate({ ...base, candidates: [{ seed: 4 }, { seed: 9 }, { seed: 5 }] });
    expect(maxAbsDiff(alone.images[0]!.latent, batched.images[1]!.latent)).toBeLessThan(1e-3);
  });

  it('writes 32×32 RGB PNGs with the generation parameters in tEXt chunks', async () => {
    const r = await pipe.generate({ ...base, negativePrompt: 'blurry', candidates: [{ seed: 11 }], modelName: 'fixture-v1' });
    const png = decodePng(r.images[0]!.png);
    expect([png.width, png.height]).toEqual([32, 32]);
    expect(png.text['parameters']).toContain('a red circle on blue background\nNegative prompt: blurry\nSteps: 6, Sampler: ddim, CFG scale: 7.5, Seed: 11, Size: 32x32');
    expect(JSON.parse(png.text['vca:generation']!)).toMatchObject({ seed: 11, steps: 6, model: 'fixture-v1' });
  });

  it('dynamic-size exports generate other sizes; img2img resizes the starting image', async () => {
    expect(pipe.model.unet.input('sample').shape).toEqual(['batch', 4, 'height', 'width']);
    const r = await pipe.generate({ ...base, width: 64, height: 48, candidates: [{ seed: 1 }] });
    expect([decodePng(r.images[0]!.png).width, decodePng(r.images[0]!.png).height, r.images[0]!.latent.length]).toEqual([64, 48, 4 * 6 * 8]);
    const i2i = await pipe.generate({ ...base, initImage: r.images[0]!.png, candidates: [{ seed: 1, strength: 0.5 }] });
    expect([i2i.images[0]!.width, i2i.images[0]!.height]).toEqual([32, 32]);
    await expect(pipe.generate({ ...base, width: 36, candidates: [{ seed: 1 }] })).rejects.toThrow(/multiples of 8/);
  });

  it('CFG: the negative prompt matters with guidance, not without', async () => {
    const run = (guidanceScale: number, negativePrompt: string) => pipe.generate({ ...base, guidanceScale, negativePrompt, candidates: [{ seed: 3 }] }).then((r) => r.images[0]!.latent);
    expect(maxAbsDiff(await run(7.5, ''), await run(7.5, 'green square'))).toBeGreaterThan(1e-3);
    expect(Array.from(await run(1, ''))).toEqual(Array.from(await run(1, 'green square')));
    expect(maxAbsDiff(await run(1, ''), await run(7.5, ''))).toBeGreaterThan(1e-3);
  });

  it('guidance w = 1 batched CFG equals the conditional pass alone (ε_u + 1·(ε_c − ε_u) = ε_c)', async () => {
    // guidanceScale ≤ 1 skips the unconditional half; 1.0000001 runs it. Both must agree.
    const plain = await pipe.generate({ ...base, guidanceScale: 1, candidates: [{ seed: 8 }] });
    const batched = await pipe.generate({ ...base, guidanceScale: 1.0000001, candidates: [{ seed: 8 }] });
    expect(maxAbsDiff(plain.images[0]!.latent, batched.images[0]!.latent)).toBeLessThan(1e-3);
  });
});

describe('img2img', () => {
  let init: Uint8Array;
  beforeAll(async () => {
    init = (await pipe.generate({ ...base, candidates: [{ seed: 21 }] })).images[0]!.png;
  });

  it('strength 0 returns the input latent and runs no UNet step', async () => {
    const r = await pipe.generate({ ...base, initImage: init, candidates: [{ seed: 1, strength: 0 }] });
    const m = pipe.model;
    const expected = await m.encode(decodePng(init).data, [1, 3, 32, 32]);
    expect(r.timings.unetCalls).toBe(0);
    expect(Array.from(r.images[0]!.latent)).toEqual(Array.from(expected.data));
  });

  it('per-candidate strength: each starts at its own step, all finish together', async () => {
    const steps: number[] = [];
    const r = await pipe.generate({
      ...base,
      steps: 10,
      initImage: init,
      candidates: [{ seed: 1, strength: 0.3 }, { seed: 1, strength: 0.8 }, { seed: 1, strength: 1 }],
      onProgress: (step, total) => steps.push(step * 100 + total),
    });
    expect(r.timings.unetCalls).toBe(10);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => s * 100 + 10));
    expect(r.images.map((im) => im.strength)).toEqual([0.3, 0.8, 1]);
    // Lower strength stays closer to the starting latent.
    const start = (await pipe.model.encode(decodePng(init).data, [1, 3, 32, 32])).data;
    const dist = r.images.map((im) => maxAbsDiff(im.latent, start));
    expect(dist[0]).toBeLessThan(dist[2]!);
    // The same candidate alone (3 steps) gives the same result as inside the mixed batch.
    const alone = await pipe.generate({ ...base, steps: 10, initImage: init, candidates: [{ seed: 1, strength: 0.3 }] });
    expect(alone.timings.unetCalls).toBe(3);
    expect(maxAbsDiff(alone.images[0]!.latent, r.images[0]!.latent)).toBeLessThan(1e-3);
  });

  it.each(['euler_a', 'dpmpp_2m'] as const)('%s img2img runs', async (scheduler) => {
    const r = await pipe.generate({ ...base, scheduler, initImage: init, candidates: [{ seed: 2, strength: 0.5 }] });
    expect(r.timings.unetCalls).toBe(3);
    expect(r.images[0]!.latent.every(Number.isFinite)).toBe(true);
  });
});

describe('cancellation and progress', () => {
  it('aborting mid-run rejects with AbortError after the current step', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const run = pipe.generate({ ...base, steps: 6, candidates: [{ seed: 1 }], signal: ac.signal, onProgress: (s) => (seen.push(s), s === 2 && ac.abort()) });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1, 2]);
  });

  it('an already-aborted signal runs nothing', async () => {
    await expect(pipe.generate({ ...base, candidates: [{ seed: 1 }], signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects invalid requests at the boundary', async () => {
    await expect(pipe.generate({ ...base, candidates: [] })).rejects.toThrow(/candidates/);
    await expect(pipe.generate({ ...base, candidates: [{ seed: -1 }] })).rejects.toThrow();
    await expect(pipe.generate({ ...base, scheduler: 'pndm' as never, candidates: [{ seed: 1 }] })).rejects.toThrow(/scheduler/);
  });
});

describe('run-time LoRA', () => {
  let peft: LoraAdapter;
  let other: LoraAdapter;
  const gen = (loras: GenerateRequest['loras']) => pipe.generate({ ...base, candidates: [{ seed: 5 }], loras }).then((r) => r.images[0]!.latent);

  beforeAll(() => {
    writeFixtureLora(join(dir, 'a.safetensors'), pipe.lora!.targets, { seed: 1, rank: 2, std: 0.3 });
    writeFixtureLora(join(dir, 'b.safetensors'), pipe.lora!.targets, { seed: 2, rank: 3, std: 0.3, filter: (t) => t.path.includes('attn2') });
    peft = pipe.loadLora(join(dir, 'a.safetensors'));
    other = pipe.loadLora(join(dir, 'b.safetensors'));
  });

  it('targets every attention q/k/v/out projection of the UNet', () => {
    expect(pipe.lora!.targets).toHaveLength(3 * 2 * 4);
    expect(pipe.lora!.targets.map((t) => t.path)).toContain('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k');
  });

  it('scale 0 equals no LoRA; a LoRA changes the output; stacking differs from each alone', async () => {
    const none = await gen([]);
    expect(Array.from(await gen([{ lora: peft, scale: 0 }]))).toEqual(Array.from(none));
    const a = await gen([{ lora: peft, scale: 1 }]);
    const b = await gen([{ lora: other, scale: 1 }]);
    const ab = await gen([{ lora: peft, scale: 1 }, { lora: other, scale: 1 }]);
    expect(maxAbsDiff(a, none)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(ab, a)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(ab, b)).toBeGreaterThan(1e-3);
  });

  it('strengths are linear in ΔW: the same adapter twice at 0.5 equals once at 1', async () => {
    const once = await gen([{ lora: peft, scale: 1 }]);
    const twice = await gen([{ lora: peft, scale: 0.5 }, { lora: peft, scale: 0.5 }]);
    expect(maxAbsDiff(once, twice)).toBeLessThan(1e-3);
  });

  it('kohya naming with α maps onto the same projections as PEFT naming', async () => {
    // kohya α = r/2 halves ΔW: equal to the PEFT file at scale 0.5.
    writeFixtureLora(join(dir, 'a-kohya.safetensors'), pipe.lora!.targets, { seed: 1, rank: 2, std: 0.3, naming: 'kohya', alpha: 1 });
    const kohya = pipe.loadLora(join(dir, 'a-kohya.safetensors'));
    expect(maxAbsDiff(await gen([{ lora: kohya, scale: 1 }]), await gen([{ lora: peft, scale: 0.5 }]))).toBeLessThan(1e-4);
  });

  it("@vca/ml's saveLora files (A [in, r], B [r, out], α in metadata) load as the same adapter", async () => {
    const t = (m: Float32Array, rows: number, cols: number) => Float32Array.from({ length: rows * cols }, (_, k) => m[(k % rows) * cols + Math.floor(k / rows)]!);
    const tensors = new Map();
    for (const m of peft.modules.values()) {
      // PEFT down [r, in] → ml A [in, r]; PEFT up [out, r] → ml B [r, out]
      tensors.set(`${m.key}.weight.lora_A`, { dtype: 'float32', dims: [m.inDim, m.rank], data: t(m.down, m.rank, m.inDim) });
      tensors.set(`${m.key}.weight.lora_B`, { dtype: 'float32', dims: [m.rank, m.outDim], data: t(m.up, m.outDim, m.rank) });
    }
    saveLora(join(dir, 'a-ml.safetensors'), { rank: 2, alpha: 1, tensors });
    const ml = pipe.loadLora(join(dir, 'a-ml.safetensors'));
    expect([...ml.modules.values()][0]).toMatchObject({ naming: 'vca', alpha: 1, rank: 2 });
    // α/r = ½: equal to the PEFT file at scale 0.5
    expect(maxAbsDiff(await gen([{ lora: ml, scale: 1 }]), await gen([{ lora: peft, scale: 0.5 }]))).toBeLessThan(1e-4);
  });

  it('names that match no projection are a clear error', () => {
    const bogus = [{ path: 'down_blocks.9.attentions.0.transformer_blocks.0.attn1.to_q', inDim: 32, outDim: 32, downInput: '', upInput: '', dtype: 'float32' as const }];
    writeFixtureLora(join(dir, 'bogus.safetensors'), bogus);
    expect(() => pipe.loadLora(join(dir, 'bogus.safetensors'))).toThrow(/match no UNet attention projection.*down_blocks\.9/);
  });
});
