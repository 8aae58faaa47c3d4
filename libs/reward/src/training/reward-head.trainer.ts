import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { Rng, Trainer, type TensorData } from '@vca/ml';
import { buildPreferenceLossGraph, buildRewardHeadGraph, HEAD_TRAINABLE, IMAGE_OFFSETS, type StyleNorm } from '../head/reward-head.graph';
import { normOf, RewardHeadSession, type RewardHeadWeights } from '../head/reward-head.session';
import type { FeatureTable, IndexedPair } from './feature-table';
import { resumeFromCheckpoint, rewardTrainerConfig } from './trainer-setup.util';

export const RewardTrainingConfigSchema = z.object({
  /** Width of the head's hidden layer. */
  hidden: z.number().int().min(4).max(1024).default(64),
  /** DPO's β: how far the trained margins may move from the reference's per unit of loss. */
  beta: z.number().positive().default(1),
  /** Passes over the pairs (the paper trains one epoch). */
  epochs: z.number().positive().max(100).default(1),
  batch: z.number().int().min(8).max(8192).default(256),
  lr: z.number().positive().default(3e-3),
  weightDecay: z.number().min(0).default(1e-4),
  /** Initial weight of the cosine term (the dual encoder's logit scale is a fair start). */
  cosScale: z.number().default(10),
  seed: z.number().int().default(0),
  threads: z.number().int().min(0).default(0),
  /** Per-image offsets that absorb what the features cannot explain (see PreferenceLossOptions). */
  imageOffsets: z.boolean().default(false),
  offsetPenalty: z.number().min(0).default(0.1),
});
export type RewardTrainingConfig = z.input<typeof RewardTrainingConfigSchema>;

export interface RewardTrainingProgress {
  step: number;
  totalSteps: number;
  loss: number;
  pairsPerSec: number;
}

export interface RewardTrainingResult {
  weights: RewardHeadWeights;
  steps: number;
  seconds: number;
  pairsPerSec: number;
  /** Mean loss over the last tenth of the steps. */
  finalLoss: number;
}

export interface TrainRewardHeadOptions {
  table: FeatureTable;
  pairs: readonly IndexedPair[];
  config?: RewardTrainingConfig;
  /**
   * The active version: DPO's frozen reference (its margins offset the loss) and the starting
   * point (its weights and normalisation). Without it the first version trains with the
   * Bradley–Terry loss from a fresh head.
   */
  reference?: RewardHeadWeights;
  checkpoint?: { dir: string; every: number };
  onProgress?: (p: RewardTrainingProgress) => void;
}

/**
 * Trains the reward head on cached features with the preference loss of
 * `buildPreferenceLossGraph` (one pass by default), AdamW with warm-up and cosine decay.
 */
export async function trainRewardHead(opts: TrainRewardHeadOptions): Promise<RewardTrainingResult> {
  const c = RewardTrainingConfigSchema.parse(opts.config ?? {});
  const { table, pairs } = opts;
  if (pairs.length === 0) throw new Error('trainRewardHead: no pairs');
  const dims = { styleDim: table.styleDim, embedDim: table.embedDim, hidden: opts.reference?.dims.hidden ?? c.hidden };
  const images = [...new Set(pairs.flatMap((p) => [p.winner, p.loser]))];
  const norm: StyleNorm = opts.reference ? normOf(opts.reference) : table.styleMoments(images);
  const B = Math.min(c.batch, pairs.length);
  const { graph, loss } = buildPreferenceLossGraph(dims, norm, B, {
    beta: opts.reference ? c.beta : 1,
    seed: c.seed,
    cosScale: c.cosScale,
    imageOffsets: c.imageOffsets ? table.images : undefined,
    offsetPenalty: c.offsetPenalty,
  });
  if (opts.reference) {
    for (const [k, t] of opts.reference.tensors) if (graph.initializers.has(k)) graph.initializers.set(k, t);
  }

  // DPO's reference margins r_ref(p, x⁺) − r_ref(p, x⁻), computed once.
  const refMargin = new Float32Array(pairs.length);
  if (opts.reference) {
    const ref = await RewardHeadSession.create(opts.reference, c.threads || 1);
    const rows = pairs.flatMap((p) => [{ image: p.winner, prompt: p.prompt }, { image: p.loser, prompt: p.prompt }]);
    const { reward } = await ref.scoreRows(table, rows);
    await ref.release();
    for (let i = 0; i < pairs.length; i++) refMargin[i] = reward[2 * i]! - reward[2 * i + 1]!;
  }

  const stepsPerEpoch = Math.ceil(pairs.length / B);
  const totalSteps = Math.max(1, Math.round(stepsPerEpoch * c.epochs));
  const trainer = await Trainer.create({
    graph,
    loss,
    trainable: c.imageOffsets ? [...[...graph.initializers.keys()].filter((k) => HEAD_TRAINABLE.test(k)), IMAGE_OFFSETS] : HEAD_TRAINABLE,
    inputShapes: {
      ...(c.imageOffsets ? { image_index: [2 * B] } : {}),
      style_features: [2 * B, dims.styleDim],
      image_embeds: [2 * B, dims.embedDim],
      text_embeds: [2 * B, dims.embedDim],
      ref_margin: [B],
      label: [B],
      weight: [B],
    },
    config: rewardTrainerConfig({ lr: c.lr, weightDecay: c.weightDecay, totalSteps, seed: c.seed, threads: c.threads }),
  });
  try {
    resumeFromCheckpoint(trainer, opts.checkpoint);
    // One fixed shuffle per epoch, derived from the seed: a resumed run sees the same order.
    const order = (epoch: number) => shuffled(pairs.length, c.seed * 7919 + epoch);
    const orders = new Map<number, Uint32Array>();
    const buf = {
      style: new Float32Array(2 * B * dims.styleDim),
      image: new Float32Array(2 * B * dims.embedDim),
      text: new Float32Array(2 * B * dims.embedDim),
    };
    const losses: number[] = [];
    const started = performance.now();
    const firstStep = trainer.step;
    await trainer.fit({
      steps: totalSteps,
      batch: (step) => {
        const epoch = Math.floor(step / stepsPerEpoch);
        let perm = orders.get(epoch);
        if (!perm) orders.set(epoch, (perm = order(epoch)));
        const base = (step % stepsPerEpoch) * B;
        const winners: { image: number; prompt: number }[] = [];
        const losers: { image: number; prompt: number }[] = [];
        const ref = new Float32Array(B);
        const label = new Float32Array(B);
        const weight = new Float32Array(B);
        for (let k = 0; k < B; k++) {
          const idx = base + k < pairs.length ? perm[base + k]! : perm[(base + k) % pairs.length]!;
          const p = pairs[idx]!;
          winners.push({ image: p.winner, prompt: p.prompt });
          losers.push({ image: p.loser, prompt: p.prompt });
          ref[k] = refMargin[idx]!;
          label[k] = p.label;
          // The last batch wraps around; the repeated pairs get no weight.
          weight[k] = base + k < pairs.length ? (p.weight ?? 1) : 0;
        }
        table.gather(winners, buf, 0);
        table.gather(losers, buf, B);
        return {
          style_features: new ort.Tensor('float32', buf.style, [2 * B, dims.styleDim]),
          image_embeds: new ort.Tensor('float32', buf.image, [2 * B, dims.embedDim]),
          text_embeds: new ort.Tensor('float32', buf.text, [2 * B, dims.embedDim]),
          ref_margin: new ort.Tensor('float32', ref, [B]),
          label: new ort.Tensor('float32', label, [B]),
          weight: new ort.Tensor('float32', weight, [B]),
          ...(c.imageOffsets ? { image_index: new ort.Tensor('int64', BigInt64Array.from([...winners, ...losers].map((w) => BigInt(w.image))), [2 * B]) } : {}),
        };
      },
      onProgress: (p) => {
        losses.push(p.loss);
        const elapsed = (performance.now() - started) / 1000;
        opts.onProgress?.({ step: p.step, totalSteps, loss: p.loss, pairsPerSec: ((p.step - firstStep) * B) / Math.max(elapsed, 1e-9) });
      },
      checkpoint: opts.checkpoint,
    });
    const seconds = (performance.now() - started) / 1000;
    const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
    const tensors = new Map<string, TensorData>();
    const trained = trainer.trainedGraph('current');
    for (const [k, t] of trained.initializers) if (HEAD_TRAINABLE.test(k) || k.startsWith('norm.')) tensors.set(k, t);
    // The scoring graph must accept every trained tensor: build it once as a check.
    buildRewardHeadGraph(dims, norm);
    return {
      weights: { dims, tensors },
      steps: totalSteps,
      seconds,
      pairsPerSec: ((totalSteps - firstStep) * B) / Math.max(seconds, 1e-9),
      finalLoss: tail.reduce((a, b) => a + b, 0) / Math.max(tail.length, 1),
    };
  } finally {
    await trainer.release();
  }
}

/** A permutation of 0..n−1 (Fisher–Yates on @vca/ml's seeded Rng). */
function shuffled(n: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  const out = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}
