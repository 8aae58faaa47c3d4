import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiffusionPipeline } from '@vca/diffusion';
import { DEFAULT_TOWER_STEPS, evaluateRewardVersion, loadRewardScorer, saveRewardVersion, trainRewardModel, type RewardVersion } from '../src';
import { simulateCommunity } from './simulated-community';

/**
 * `npm run bench:reward`: a simulated community (hidden taste over the styles no prompt names,
 * raters voting with `simulateVotes`) labels rounds; its votes become preference pairs through
 * the product's pair rules; the reward model trains on them (head on cached embeddings, then
 * the image tower's conv LoRA) and is measured on held-out dialogues against the plain cosine.
 * Then the trained version scores rounds of the embedded model, timed against the round itself.
 *
 * Env: BENCH_DIALOGUES (2,500 training rounds), BENCH_RATERS (8 per round), BENCH_HELDOUT (400
 * dialogues), BENCH_TASTES (comma list of taste seeds, default 2,3,8: an outline taste, shading
 * with tilt, shading), BENCH_ERROR_RATE (0.3 of candidates with one named attribute wrong),
 * BENCH_THUMBED_DOWN_WEIGHT (0.1, as REWARD_THUMBED_DOWN_WEIGHT), BENCH_TOWER_STEPS (400: the tower
 * phase is measured beside the head alone; the JSON reports what the product's default serves),
 * BENCH_THREADS (0 = all cores), MODEL_DIR (models/default).
 * Last line: {"pairs","train_s","pairs_per_s","heldout_acc","cosine_acc","score_ms_per_image"}
 * with train_s the head's one pass over the cached embeddings and heldout_acc the accuracy of the
 * version the product's defaults serve on taste pairs (mean over the tastes).
 */
async function main(): Promise<void> {
  const env = (k: string, d: number) => Number(process.env[k] ?? d);
  const modelDir = process.env['MODEL_DIR'] ?? 'models/default';
  const threads = env('BENCH_THREADS', 0);
  const tastes = (process.env['BENCH_TASTES'] ?? '2,3,8').split(',').map(Number);
  // The tower phase is measured beside the head alone even though the product default is none.
  const towerSteps = env('BENCH_TOWER_STEPS', 400);
  const served = (m: { head_acc: number; heldout_acc: number }) => (DEFAULT_TOWER_STEPS > 0 ? m.heldout_acc : m.head_acc);
  const servedVersion = (o: { version: RewardVersion; headOnly: RewardVersion }) => (DEFAULT_TOWER_STEPS > 0 ? o.version : o.headOnly);
  console.log(`machine: ${cpus().length} CPU(s) ${cpus()[0]?.model ?? ''}`);
  const results: { pairs: number; train_s: number; pairs_per_s: number; heldout_acc: number; cosine_acc: number }[] = [];
  const work = mkdtempSync(join(tmpdir(), 'vca-bench-reward-'));
  let versionDir = '';
  try {
    for (const seed of tastes) {
      const sim = simulateCommunity({
        seed,
        dialogues: env('BENCH_DIALOGUES', 2500),
        heldOutDialogues: env('BENCH_HELDOUT', 400),
        raters: env('BENCH_RATERS', 8),
        errorRate: env('BENCH_ERROR_RATE', 0.3),
        thumbedDownLoserWeight: env('BENCH_THUMBED_DOWN_WEIGHT', 0.1),
      });
      console.log(`taste ${seed}: ${JSON.stringify(sim.taste)}`);
      console.log(`  ${sim.rounds} rounds simulated in ${sim.simulateSeconds.toFixed(1)} s: ${sim.train.length} training pairs, ${sim.heldOutTaste.length} held-out taste pairs, ${sim.heldOutAll.length} held-out pairs in all`);
      const out = await trainRewardModel({
        modelDir,
        images: sim.images,
        prompts: sim.prompts,
        train: sim.train,
        heldOut: sim.heldOutTaste,
        config: { threads, tower: { steps: towerSteps } },
      });
      const m = out.metrics;
      const v = servedVersion(out);
      const all = await evaluateRewardVersion({ modelDir, head: v.head, tower: v.tower, gramTaps: v.manifest.gramTaps, images: sim.images, prompts: sim.prompts, pairs: sim.heldOutAll, threads });
      console.log(`  embeddings: ${m.encode_s.toFixed(1)} s; head: one pass over ${m.pairs} pairs in ${m.head_train_s.toFixed(2)} s (${Math.round(m.pairs_per_s)} pairs/s); tower LoRA: ${m.tower_train_s.toFixed(1)} s`);
      console.log(`  the oracle's reading vs the rendered styles: ${(sim.renderedAgreement * 100).toFixed(1)}% of held-out taste pairs in the same order (what a model of the rendered styles alone would score)`);
      console.log(`  held-out taste pairs (${m.heldout_pairs}): head only ${m.head_acc.toFixed(3)}, head + tower ${m.heldout_acc.toFixed(3)}, cosine ${m.cosine_acc.toFixed(3)}`);
      const clear = sim.heldOutTaste.filter((_, i) => sim.heldOutTasteDelta[i]! >= 0.25);
      const big = await evaluateRewardVersion({ modelDir, head: v.head, tower: v.tower, gramTaps: v.manifest.gramTaps, images: sim.images, prompts: sim.prompts, pairs: clear, threads });
      const agreed = await evaluateRewardVersion({ modelDir, head: v.head, tower: v.tower, gramTaps: v.manifest.gramTaps, images: sim.images, prompts: sim.prompts, pairs: sim.heldOutTasteAgreed, threads });
      console.log(`  served version (${DEFAULT_TOWER_STEPS > 0 ? 'head + tower' : 'head only'}) on held-out taste pairs the reading and the rendering agree on (${agreed.pairs}): reward ${agreed.accuracy.toFixed(3)}, cosine ${agreed.cosineAccuracy.toFixed(3)}`);
      console.log(`  held-out taste pairs differing by ≥ 0.25 (${big.pairs}): reward ${big.accuracy.toFixed(3)}, cosine ${big.cosineAccuracy.toFixed(3)}`);
      console.log(`  held-out pairs in all (${all.pairs}, intent and taste): reward ${all.accuracy.toFixed(3)}, cosine ${all.cosineAccuracy.toFixed(3)}`);
      results.push({ pairs: m.pairs, train_s: m.head_train_s, pairs_per_s: m.pairs_per_s, heldout_acc: served(m), cosine_acc: m.cosine_acc });
      versionDir = join(work, `taste-${seed}`);
      saveRewardVersion(versionDir, v);
    }

    // Scoring cost against the round it is part of: 4 candidates, 40 steps (the chat default).
    const pipe = await DiffusionPipeline.load(modelDir, { threads });
    const scorer = await loadRewardScorer({ modelDir, versionDir, versionId: 'bench', threads: 1 });
    const request = { prompt: 'a large red star on a blue background', candidates: [1, 2, 3, 4].map((seed) => ({ seed })), steps: 40, guidanceScale: 2.5 };
    await pipe.generate({ ...request, steps: 2 });
    await scorer.score(request.prompt, (await pipe.generate({ ...request, steps: 2 })).images.map((i) => i.png));
    const roundMs: number[] = [];
    const scoreMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await pipe.generate({ ...request, candidates: request.candidates.map((c) => ({ seed: c.seed + 10 * i })) });
      const t1 = performance.now();
      await scorer.score(`${request.prompt} ${i % 2 ? '' : ' '}`, res.images.map((im) => im.png));
      roundMs.push(t1 - t0);
      scoreMs.push(performance.now() - t1);
    }
    await scorer.dispose();
    await pipe.dispose();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const scorePerImage = median(scoreMs) / 4;
    console.log(`round (4 candidates, 40 steps): ${median(roundMs).toFixed(0)} ms; scoring its 4 images: ${median(scoreMs).toFixed(1)} ms (${((median(scoreMs) / median(roundMs)) * 100).toFixed(1)}% of the round; target ≤ 5%)`);

    const mean = (k: keyof (typeof results)[number]) => results.reduce((a, r) => a + r[k], 0) / results.length;
    const first = results[0]!;
    console.log(
      JSON.stringify({
        pairs: first.pairs,
        train_s: +first.train_s.toFixed(2),
        pairs_per_s: Math.round(first.pairs_per_s),
        heldout_acc: +mean('heldout_acc').toFixed(3),
        cosine_acc: +mean('cosine_acc').toFixed(3),
        score_ms_per_image: +scorePerImage.toFixed(2),
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

void main();
