/**
 * Writes the held-out evaluation set for eval:model as JSON (see EvalSetSchema).
 * Usage: npm run world:eval-set -- <out.json> [--seed 0] [--t2i 500] [--edits 200]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { generateEvalSet } from '../dataset/eval-set.generator';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: 'string', default: '0' }, t2i: { type: 'string', default: '500' }, edits: { type: 'string', default: '200' } },
});
const args = z
  .object({ out: z.string().min(1, 'usage: world:eval-set -- <out.json>'), seed: z.coerce.number().int().min(0), t2i: z.coerce.number().int().positive(), edits: z.coerce.number().int().positive() })
  .parse({ out: positionals[0] ?? '', ...values });
const evalSet = generateEvalSet({ seed: args.seed, textToImageCount: args.t2i, editCount: args.edits });
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify(evalSet, null, 1) + '\n');
console.log(JSON.stringify({ out: args.out, textToImage: evalSet.textToImage.length, edits: evalSet.edits.length }));
