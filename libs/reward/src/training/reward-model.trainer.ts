import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadModel, loadSafetensors, saveSafetensors, type TensorData } from '@vca/ml';
import { DEFAULT_GRAM_TAPS, DualEncoderFeatures, findRewardEncoders } from '../features/dual-encoder.features';
import { RewardHeadSession, type RewardHeadWeights } from '../head/reward-head.session';
import { encoderFingerprint, type RewardVersion } from '../model/reward-version.store';
import type { TowerLora } from '../model/image-feature.graph';
import { FeatureTable, type IndexedPair } from './feature-table';
import { pairAccuracy } from './pair-accuracy';
import { RewardTrainingConfigSchema, trainRewardHead } from './reward-head.trainer';
import { TowerTrainingConfigSchema, trainRewardTower } from './reward-tower.trainer';

/** Where a run's images come from: [3, S, S] floats in [−1, 1] by row, at the tower's size. */
export interface ImageSource {
  count: number;
  pixels(index: number, size: number): Float32Array;
}

export const RewardModelConfigSchema = z.object({
  head: RewardTrainingConfigSchema.default(RewardTrainingConfigSchema.parse({})),
  tower: TowerTrainingConfigSchema.default(TowerTrainingConfigSchema.parse({})),
  gramTaps: z.number().int().min(0).default(DEFAULT_GRAM_TAPS),
  threads: z.number().int().min(0).default(0),
});
export type RewardModelConfig = z.input<typeof RewardModelConfigSchema>;

export interface TrainRewardModelOptions {
  modelDir: string;
  images: ImageSource;
  prompts: readonly string[];
  train: readonly IndexedPair[];
  heldOut: readonly IndexedPair[];
  /** The active version: DPO reference and starting point. */
  reference?: RewardVersion | null;
  config?: RewardModelConfig;
  /** Checkpoints of this run (the tower phase resumes from them). */
  workDir?: string;
  onProgress?: (fraction: number, message: string) => void;
}

export interface RewardTrainingMetrics {
  pairs: number;
  heldout_pairs: number;
  /** Held-out pair accuracy of the new version, of the active one, of the plain cosine. */
  heldout_acc: number;
  reference_acc: number;
  cosine_acc: number;
  /** Head-only accuracy (before the tower phase). */
  head_acc: number;
  encode_s: number;
  head_train_s: number;
  pairs_per_s: number;
  tower_train_s: number;
  final_loss: number;
  [key: string]: number;
}

export interface RewardTrainingOutcome {
  version: RewardVersion;
  metrics: RewardTrainingMetrics;
  /** The head trained on cached features alone (before the tower phase; equal to `version` without one). */
  headOnly: RewardVersion;
}

async function buildTable(encoder: DualEncoderFeatures, images: ImageSource, prompts: readonly string[], rows?: readonly number[]): Promise<FeatureTable> {
  const ids = rows ?? Array.from({ length: images.count }, (_, i) => i);
  const feats = new Array(images.count);
  for (let start = 0; start < ids.length; start += 256) {
    const chunk = ids.slice(start, start + 256);
    const out = await encoder.encodePixels(chunk.map((i) => images.pixels(i, encoder.imageSize)));
    chunk.forEach((i, k) => (feats[i] = out[k]));
  }
  // Rows not asked for are zeros (never read).
  const zero = { embed: new Float32Array(encoder.embedDim), style: new Float32Array(encoder.styleDim) };
  for (let i = 0; i < feats.length; i++) feats[i] ??= zero;
  return FeatureTable.from(feats, await encoder.encodeTexts(prompts));
}

const imagesOf = (pairs: readonly IndexedPair[]) => [...new Set(pairs.flatMap((p) => [p.winner, p.loser]))].sort((a, b) => a - b);

/**
 * One reward-model training (docs/learning-loop.md): embed every image and prompt once with the
 * frozen dual encoder (and the reference's tower adapter), train the head on the cached features,
 * then adapt the tower with conv LoRA, and measure the new version, the reference and the plain
 * cosine on the held-out pairs. Nothing is written but checkpoints under `workDir`: the caller
 * decides whether to keep the version.
 */
export async function trainRewardModel(opts: TrainRewardModelOptions): Promise<RewardTrainingOutcome> {
  const c = RewardModelConfigSchema.parse(opts.config ?? {});
  const found = findRewardEncoders(opts.modelDir);
  if (!found.ok) throw new Error(found.reason);
  const progress = opts.onProgress ?? (() => undefined);
  const reference = opts.reference ?? null;
  if (reference && reference.manifest.gramTaps !== c.gramTaps) c.gramTaps = reference.manifest.gramTaps;
  const threads = c.threads;

  progress(0, 'embedding images and prompts');
  const t0 = performance.now();
  const encoder = await DualEncoderFeatures.load(opts.modelDir, { threads, gramTaps: c.gramTaps, tower: reference?.tower ?? null });
  const table = await buildTable(encoder, opts.images, opts.prompts, imagesOf([...opts.train, ...opts.heldOut]));
  await encoder.dispose();
  const encodeSeconds = (performance.now() - t0) / 1000;

  // Head on cached features; its result is kept in the work folder so a resumed run skips it.
  progress(0.15, 'training the reward head on cached features');
  const headFile = opts.workDir ? join(opts.workDir, 'head-phase.safetensors') : null;
  let head: RewardHeadWeights;
  let headSeconds = 0;
  let pairsPerSec = 0;
  let finalLoss = Number.NaN;
  if (headFile && existsSync(headFile)) {
    const saved = loadSafetensors(headFile);
    head = { dims: JSON.parse(saved.metadata['dims'] ?? '{}'), tensors: new Map(saved.tensors) };
  } else {
    const res = await trainRewardHead({
      table,
      pairs: opts.train,
      reference: reference?.head,
      config: { ...c.head, threads },
      onProgress: (p) => progress(0.15 + 0.15 * (p.step / p.totalSteps), `head step ${p.step}/${p.totalSteps}`),
    });
    head = res.weights;
    headSeconds = res.seconds;
    pairsPerSec = res.pairsPerSec;
    finalLoss = res.finalLoss;
    if (headFile) {
      mkdirSync(opts.workDir!, { recursive: true });
      saveSafetensors(headFile, new Map(head.tensors), { dims: JSON.stringify(head.dims) });
    }
  }
  const headPhase = head;
  const headSession = await RewardHeadSession.create(head, threads || 1);
  const headAcc = await pairAccuracy(headSession, table, opts.heldOut);
  await headSession.release();

  // DPO reference margins and the reference's own held-out accuracy.
  let refMargin = new Float32Array(opts.train.length);
  let referenceAcc = Number.NaN;
  if (reference) {
    const ref = await RewardHeadSession.create(reference.head, threads || 1);
    const rows = opts.train.flatMap((p) => [{ image: p.winner, prompt: p.prompt }, { image: p.loser, prompt: p.prompt }]);
    const { reward } = await ref.scoreRows(table, rows);
    refMargin = Float32Array.from({ length: opts.train.length }, (_, i) => reward[2 * i]! - reward[2 * i + 1]!);
    referenceAcc = (await pairAccuracy(ref, table, opts.heldOut)).accuracy;
    await ref.release();
  }

  let tower: TowerLora | null = reference?.tower ?? null;
  let towerSeconds = 0;
  if (c.tower.steps > 0) {
    progress(0.35, 'adapting the image tower (conv LoRA)');
    const res = await trainRewardTower({
      imageEncoder: loadModel(found.imageEncoder),
      gramTaps: c.gramTaps,
      head,
      startTower: reference?.tower ?? null,
      table,
      pixels: (i) => opts.images.pixels(i, encoder.imageSize),
      imageSize: encoder.imageSize,
      pairs: opts.train,
      refMargin,
      config: { ...c.tower, threads },
      checkpoint: opts.workDir ? { dir: join(opts.workDir, 'tower'), every: 50 } : undefined,
      onProgress: (p) => progress(0.35 + 0.55 * (p.step / p.totalSteps), `tower step ${p.step}/${p.totalSteps}`),
    });
    head = res.head;
    tower = res.tower;
    towerSeconds = res.seconds;
  }

  progress(0.92, 'evaluating on held-out dialogues');
  const evaluation = { modelDir: opts.modelDir, head, tower, gramTaps: c.gramTaps, images: opts.images, prompts: opts.prompts, pairs: opts.heldOut, threads };
  // Without a tower phase the held-out features in `table` are the candidate's own (same tower as
  // the reference): only the cosine baseline may need the base encoder.
  const candAcc =
    c.tower.steps > 0
      ? await evaluateRewardVersion(evaluation)
      : { ...headAcc, cosineAccuracy: tower ? await baseCosineAccuracy(evaluation) : headAcc.cosineAccuracy };
  const cosineAcc = candAcc.cosineAccuracy;

  const metrics: RewardTrainingMetrics = {
    pairs: opts.train.length,
    heldout_pairs: candAcc.pairs,
    heldout_acc: candAcc.accuracy,
    reference_acc: referenceAcc,
    cosine_acc: cosineAcc,
    head_acc: headAcc.accuracy,
    encode_s: encodeSeconds,
    head_train_s: headSeconds,
    pairs_per_s: pairsPerSec,
    tower_train_s: towerSeconds,
    final_loss: finalLoss,
  };
  progress(1, 'trained');
  const manifest = (h: RewardHeadWeights, t: TowerLora | null): RewardVersion['manifest'] => ({
    format: 'vca-reward/1',
    dims: h.dims,
    gramTaps: c.gramTaps,
    tower: t ? { rank: t.rank, alpha: t.alpha } : null,
    encoder: encoderFingerprint(found.imageEncoder, found.textEncoder),
    beta: reference ? c.head.beta : 1,
    objective: reference ? 'dpo' : 'bradley_terry',
    trainedAt: new Date().toISOString(),
    metrics: Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v))),
  });
  const version: RewardVersion = { manifest: manifest(head, tower), head, tower };
  return {
    version,
    metrics,
    headOnly: c.tower.steps > 0 ? { manifest: manifest(headPhase, reference?.tower ?? null), head: headPhase, tower: reference?.tower ?? null } : version,
  };
}

export interface EvaluateRewardOptions {
  modelDir: string;
  head: RewardHeadWeights;
  tower: TowerLora | null;
  gramTaps: number;
  images: ImageSource;
  prompts: readonly string[];
  pairs: readonly IndexedPair[];
  threads?: number;
}

/**
 * Held-out pair accuracy of a version (head on features from its own tower adapter) and of the
 * plain cosine of the base encoder, on the same pairs.
 */
export async function evaluateRewardVersion(o: EvaluateRewardOptions): Promise<{ pairs: number; accuracy: number; cosineAccuracy: number }> {
  const rows = imagesOf(o.pairs);
  const threads = o.threads ?? 0;
  const encoder = await DualEncoderFeatures.load(o.modelDir, { threads, gramTaps: o.gramTaps, tower: o.tower });
  const table = await buildTable(encoder, o.images, o.prompts, rows);
  await encoder.dispose();
  const head = await RewardHeadSession.create(o.head, threads || 1);
  const acc = await pairAccuracy(head, table, o.pairs);
  await head.release();
  if (o.tower) acc.cosineAccuracy = await baseCosineAccuracy(o);
  return acc;
}

/** The plain cosine's held-out accuracy from the base encoder (no tower adapter). */
async function baseCosineAccuracy(o: EvaluateRewardOptions): Promise<number> {
  const threads = o.threads ?? 0;
  const base = await DualEncoderFeatures.load(o.modelDir, { threads, gramTaps: o.gramTaps, tower: null });
  const table = await buildTable(base, o.images, o.prompts, imagesOf(o.pairs));
  await base.dispose();
  const head = await RewardHeadSession.create(o.head, threads || 1);
  const acc = await pairAccuracy(head, table, o.pairs);
  await head.release();
  return acc.cosineAccuracy;
}
