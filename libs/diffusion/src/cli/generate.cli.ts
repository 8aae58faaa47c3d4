import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiffusionPipeline } from '../pipeline/diffusion.pipeline';
import { DEFAULT_GUIDANCE, parseGenerateArgs, USAGE } from './generate-args.util';

/** `npm run generate -- "<prompt>" --model <dir> --n 4 --seed 1 --steps 20 --out <dir>` */
async function main(): Promise<void> {
  let args;
  try {
    args = parseGenerateArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const pipe = await DiffusionPipeline.load(args.model, { executionProvider: args.device, threads: args.threads });
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  try {
    const loras = args.loras.map((l) => ({ lora: pipe.loadLora(l.path), scale: l.scale }));
    const guidance = args.guidance ?? pipe.model.recommendedGuidance ?? DEFAULT_GUIDANCE;
    const result = await pipe.generate({
      prompt: args.prompt,
      negativePrompt: args.negative,
      candidates: Array.from({ length: args.n }, (_, i) => ({ seed: (args.seed + i) % 2 ** 32, strength: args.strength })),
      initImage: args.init ? new Uint8Array(readFileSync(args.init)) : undefined,
      width: args.width,
      height: args.height,
      steps: args.steps,
      guidanceScale: guidance,
      scheduler: args.scheduler,
      loras,
      signal: ac.signal,
      modelName: args.model,
      onProgress: (step, total) => process.stderr.write(`\rstep ${step}/${total} ${'#'.repeat(Math.round((20 * step) / total)).padEnd(20, '.')}`),
    });
    process.stderr.write('\n');
    mkdirSync(args.out, { recursive: true });
    for (const image of result.images) {
      const file = join(args.out, `${String(image.index).padStart(2, '0')}-seed${image.seed}.png`);
      writeFileSync(file, image.png);
      process.stdout.write(`${file}\n`);
    }
    const t = result.timings;
    process.stderr.write(`${result.images.length} image(s) in ${t.totalMs.toFixed(0)} ms; UNet ${t.unetStepMs.toFixed(1)} ms/step on ${pipe.model.unet.device}; guidance ${guidance}${args.guidance === undefined ? (pipe.model.recommendedGuidance === undefined ? ' (default)' : " (the model's recommendation)") : ''}\n`);
  } finally {
    await pipe.dispose();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\n${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exit(1);
});
