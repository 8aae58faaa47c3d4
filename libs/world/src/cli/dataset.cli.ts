/**
 * Writes (scene, caption) examples of one split as JSON lines, optionally with PNG images.
 * Usage: npm run world:dataset -- <out.jsonl> [--split train] [--count 1000] [--seed 0]
 *        [--start 0] [--captions 1] [--png-dir dir] [--size 64]
 * Training can instead call generateExamples()/withImages() in-process (no files at all).
 */
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { generateExamples } from '../dataset/dataset.generator';
import { SplitSchema } from '../dataset/dataset-split.util';
import { SceneRenderer } from '../render/scene.renderer';
import { encodePng } from '../render/image.util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    split: { type: 'string', default: 'train' },
    count: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '0' },
    start: { type: 'string', default: '0' },
    captions: { type: 'string', default: '1' },
    'png-dir': { type: 'string' },
    size: { type: 'string', default: '64' },
  },
});
const args = z
  .object({
    out: z.string().min(1, 'usage: world:dataset -- <out.jsonl>'),
    split: SplitSchema,
    count: z.coerce.number().int().positive(),
    seed: z.coerce.number().int().min(0),
    start: z.coerce.number().int().min(0),
    captions: z.coerce.number().int().positive(),
    'png-dir': z.string().optional(),
    size: z.coerce.number().int().min(32),
  })
  .parse({ out: positionals[0] ?? '', ...values });

mkdirSync(dirname(args.out), { recursive: true });
const pngDir = args['png-dir'];
if (pngDir) mkdirSync(pngDir, { recursive: true });
const renderer = new SceneRenderer({ size: args.size });
const stream = createWriteStream(args.out);
let lines = 0;
for (const ex of generateExamples({ split: args.split, seed: args.seed, start: args.start, count: args.count, captionsPerScene: args.captions })) {
  let image: string | undefined;
  if (pngDir && ex.id.endsWith('-0')) {
    image = join(pngDir, `${args.split}-${ex.index}.png`);
    writeFileSync(image, encodePng(renderer.render(ex.scene)));
  }
  stream.write(JSON.stringify({ ...ex, image }) + '\n');
  lines++;
}
stream.end(() => console.log(JSON.stringify({ out: args.out, examples: lines, split: args.split })));
