import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureModel } from '../fixture/fixture-model.writer';
import { DiffusionPipeline } from '../pipeline/diffusion.pipeline';

/**
 * `npm run bench:generate`: N = 4 candidates with CFG (UNet batch 8) on a fixture of realistic
 * small size (128 px images → 16×16×4 latents, 77-token context, 96-channel UNet with three
 * cross-attention transformers). Prints per-image time, UNet time per step and the share of time
 * spent outside the UNet; the last line is one JSON object.
 * Env: BENCH_STEPS (default 20), BENCH_IMAGE (128), BENCH_DEVICE (cpu|cuda), BENCH_THREADS (0 = all cores).
 */
async function main(): Promise<void> {
  const steps = Number(process.env['BENCH_STEPS'] ?? 20);
  const imageSize = Number(process.env['BENCH_IMAGE'] ?? 128);
  const device = (process.env['BENCH_DEVICE'] ?? 'cpu') as 'cpu' | 'cuda';
  const threads = Number(process.env['BENCH_THREADS'] ?? 0);
  const dir = mkdtempSync(join(tmpdir(), 'vca-bench-generate-'));
  try {
    writeFixtureModel(dir, { seed: 1, imageSize, textHidden: 128, unetChannels: 96, heads: 4, vaeChannels: 32, maxLength: 77 });
    const pipe = await DiffusionPipeline.load(dir, { executionProvider: device, threads });
    const request = {
      prompt: 'a big red circle on a blue background',
      negativePrompt: 'blurry',
      candidates: [1, 2, 3, 4].map((seed) => ({ seed })),
      steps,
      guidanceScale: 7.5,
      scheduler: 'dpmpp_2m' as const,
    };
    await pipe.generate({ ...request, steps: 2 }); // warm-up: first runs allocate and tune kernels
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push((await pipe.generate(request)).timings);
    await pipe.dispose();
    // The same UNet without the run-time LoRA inputs, to show what rank-0 LoRA branches cost.
    const plain = await DiffusionPipeline.load(dir, { executionProvider: device, threads, runtimeLora: false });
    await plain.generate({ ...request, steps: 2 });
    const plainStep = (await plain.generate(request)).timings.unetStepMs;
    await plain.dispose();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const imageMs = median(runs.map((r) => r.imageMs));
    const unetStepMs = median(runs.map((r) => r.unetStepMs));
    const share = median(runs.map((r) => r.outsideUnetShare));
    const last = runs[runs.length - 1]!;
    console.log(`machine: ${cpus().length} CPU(s) ${cpus()[0]?.model ?? ''}, device ${device}, threads ${threads || 'auto'}`);
    console.log(`fixture: ${imageSize}px, N=4 with CFG (UNet batch 8), ${steps} steps, dpmpp_2m, median of ${runs.length} runs`);
    console.log(`per image: ${imageMs.toFixed(1)} ms   UNet per step: ${unetStepMs.toFixed(2)} ms   outside UNet: ${(share * 100).toFixed(1)}% (target < 10%)`);
    console.log(`UNet per step without run-time LoRA inputs: ${plainStep.toFixed(2)} ms (one run; rank-0 LoRA branches cost ${(((unetStepMs - plainStep) / plainStep) * 100).toFixed(1)}%)`);
    console.log(`breakdown (last run): text ${last.textEncoderMs.toFixed(1)} ms, UNet ${last.unetMs.toFixed(1)} ms, VAE decode ${last.vaeDecoderMs.toFixed(1)} ms, total ${last.totalMs.toFixed(1)} ms`);
    console.log(JSON.stringify({ image_ms: +imageMs.toFixed(2), unet_step_ms: +unetStepMs.toFixed(3), outside_unet_share: +share.toFixed(4) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
