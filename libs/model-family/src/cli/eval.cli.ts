import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DiffusionPipeline } from '@vca/diffusion';
import { SceneOracle } from '@vca/world';
import { worldTokenizer } from '../data/scene-data.util';
import { evalDiversity, evalEdits, evalTextToImage, evalTiming } from '../eval/generation.eval';
import { DualEncoder, evalRetrieval } from '../eval/retrieval.eval';
import { EvalArgsSchema, isShippedProtocol } from './eval-args.util';

/**
 * `npm run eval:model -- [--model models/default] [--n 500] [--edits 500] [--retrieval 500]
 *   [--steps 20] [--guidance 4] [--strength 0.7] [--scheduler ddim] [--json out.json]`
 * Last line: {"t2i_accuracy":…,"edit_success":…,"retrieval_top1":…,"image_ms":…}.
 * The full report goes to --json; without it, to `<model>/eval.json` only for a run of the shipped
 * protocol (≥ 500 prompts, edits and retrieval queries, default sampler settings), so a quick
 * probe never overwrites the report a model ships with (it goes to the temp folder instead).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: Object.fromEntries(['model', 'n', 'edits', 'retrieval', 'diversity-prompts', 'steps', 'guidance', 'strength', 'scheduler', 'seed', 'threads', 'json'].map((k) => [k, { type: 'string' as const }])),
  });
  const a = EvalArgsSchema.parse({ ...values, diversityPrompts: values['diversity-prompts'] });
  const log = (l: string) => console.log(l);
  const oracle = new SceneOracle();
  const pipe = await DiffusionPipeline.load(a.model, { threads: a.threads });
  const o = { seed: a.seed, steps: a.steps, guidanceScale: a.guidance, scheduler: a.scheduler, editStrength: a.strength, log };
  const started = performance.now();
  const timing = await evalTiming(pipe, 5, o);
  log(`[timing] ${timing.imageMs.toFixed(1)} ms per 64×64 image (N = 4, CFG, ${a.steps} steps), UNet step ${timing.unetStepMs.toFixed(1)} ms`);
  const dual = await DualEncoder.load(a.model, worldTokenizer(), 64, a.threads);
  const retrieval = await evalRetrieval(dual, a.retrieval, 100, a.seed);
  await dual.release();
  log(`[retrieval] image→caption top-1 among ${retrieval.pool}: ${retrieval.top1.toFixed(3)} (n = ${retrieval.n})`);
  const t2i = await evalTextToImage(pipe, oracle, a.n, o);
  log(`[t2i] accuracy ${t2i.accuracy.toFixed(3)} (n = ${t2i.n}), mean attribute score ${t2i.meanScore.toFixed(3)}, errors ${JSON.stringify(t2i.errorKinds)}`);
  const edits = await evalEdits(pipe, oracle, a.edits, o);
  log(`[edit] success ${edits.success.toFixed(3)} (n = ${edits.n}, strength ${a.strength}), round-1 accuracy ${edits.firstRoundAccuracy.toFixed(3)}, by kind ${JSON.stringify(edits.byKind)}`);
  const diversity = await evalDiversity(pipe, oracle, a.diversityPrompts, 8, o);
  log(`[diversity] ${JSON.stringify(diversity)}`);
  await pipe.dispose();
  const report = { args: a, timing, retrieval, t2i, edits, diversity, wallSeconds: (performance.now() - started) / 1000 };
  const out = a.json ?? (isShippedProtocol(a) ? join(a.model, 'eval.json') : join(tmpdir(), `vca-eval-${Date.now()}.json`));
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`[report] ${out}`);
  console.log(JSON.stringify({ t2i_accuracy: t2i.accuracy, edit_success: edits.success, retrieval_top1: retrieval.top1, image_ms: timing.imageMs }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
