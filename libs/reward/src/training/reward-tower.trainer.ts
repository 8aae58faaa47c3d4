import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { GraphBuilder, Layers, Rng, Trainer, type Graph, type TensorData } from '@vca/ml';
import { appendPreferenceLoss, headLayers, HEAD_TRAINABLE } from '../head/reward-head.graph';
import { normOf, type RewardHeadWeights } from '../head/reward-head.session';
import { buildImageFeatureGraph, type TowerLora } from '../model/image-feature.graph';
import type { FeatureTable, IndexedPair } from './feature-table';
import { resumeFromCheckpoint, rewardTrainerConfig } from './trainer-setup.util';

/**
 * Default steps of the tower phase: none. On simulated votes over five tastes the tower phase
 * (400 steps) moved held-out accuracy by −0.03 to +0.01 against the head alone, for 60–120 s
 * of a 2-core run (docs/learning-loop.md); it stays available for tastes the frozen features
 * cannot see (REWARD_TOWER_STEPS).
 */
export const DEFAULT_TOWER_STEPS = 0;

export const TowerTrainingConfigSchema = z.object({
  /** Steps of joint tower-LoRA + head training (0: head only). */
  steps: z.number().int().min(0).default(DEFAULT_TOWER_STEPS),
  /** Pairs per step (2× as many images go through the tower). */
  batch: z.number().int().min(1).max(512).default(32),
  lr: z.number().positive().default(1e-3),
  rank: z.number().int().min(0).max(64).default(4),
  alpha: z.number().positive().default(4),
  beta: z.number().positive().default(1),
  seed: z.number().int().default(0),
  threads: z.number().int().min(0).default(0),
});
export type TowerTrainingConfig = z.input<typeof TowerTrainingConfigSchema>;

export interface TrainRewardTowerOptions {
  imageEncoder: Graph;
  gramTaps: number;
  /** The head trained on cached features (its weights and normalisation are the start). */
  head: RewardHeadWeights;
  /** The reference version's tower adapter, the starting point (null: a fresh LoRA). */
  startTower?: TowerLora | null;
  /** Text embeddings of the pairs' prompts (rows of `table.textEmbeds`). */
  table: FeatureTable;
  /** [3, S, S] floats in [−1, 1] of an image row. */
  pixels: (image: number) => Float32Array;
  imageSize: number;
  pairs: readonly IndexedPair[];
  /** DPO reference margins, one per pair (zeros: Bradley–Terry). */
  refMargin: Float32Array;
  config?: TowerTrainingConfig;
  checkpoint?: { dir: string; every: number };
  onProgress?: (p: { step: number; totalSteps: number; loss: number }) => void;
}

export interface RewardTowerResult {
  head: RewardHeadWeights;
  tower: TowerLora;
  steps: number;
  seconds: number;
}

/**
 * Adapts the image tower to the community's taste: conv LoRA on every convolution of the frozen
 * image encoder, trained jointly with the head on the same preference loss, from pixels. Needed
 * because a caption-trained tower keeps little of what no caption names (measured: a frozen
 * tower's features rank tilted-vs-upright pairs at 0.55–0.68, a trained one at 0.89; README).
 */
export async function trainRewardTower(opts: TrainRewardTowerOptions): Promise<RewardTowerResult> {
  const c = TowerTrainingConfigSchema.parse(opts.config ?? {});
  const B = Math.min(c.batch, opts.pairs.length);
  const S = opts.imageSize;
  const tower: TowerLora = opts.startTower ? { ...opts.startTower } : { rank: c.rank, alpha: c.alpha };
  const features = buildImageFeatureGraph(opts.imageEncoder, { gramTaps: opts.gramTaps, tower });
  const g = new GraphBuilder(features.graph);
  g.build().outputs = [];
  const l = new Layers(g, new Rng(c.seed));
  const dims = opts.head.dims;
  const text = g.input('text_embeds', 'float32', [2 * B, dims.embedDim]);
  const { reward } = headLayers(l, 'style_features', 'image_embeds', text, dims, normOf(opts.head), 0);
  g.op('Identity', [appendPreferenceLoss(g, reward, B, opts.startTower ? c.beta : 1)], {}, 'loss');
  g.output('loss', 'float32', []);
  const graph = g.build();
  for (const [k, t] of opts.head.tensors) graph.initializers.set(k, t);
  graph.inputs = graph.inputs.map((i) => (i.name === 'pixel_values' ? { ...i, shape: [2 * B, 3, S, S] } : i));

  const trainable = [...features.loraTensors, ...[...graph.initializers.keys()].filter((k) => HEAD_TRAINABLE.test(k))];
  const trainer = await Trainer.create({
    graph,
    loss: 'loss',
    trainable,
    inputShapes: { pixel_values: [2 * B, 3, S, S], text_embeds: [2 * B, dims.embedDim], ref_margin: [B], label: [B], weight: [B] },
    config: rewardTrainerConfig({ lr: c.lr, weightDecay: 1e-4, totalSteps: c.steps, seed: c.seed, threads: c.threads }),
  });
  try {
    resumeFromCheckpoint(trainer, opts.checkpoint);
    const plane = 3 * S * S;
    const E = dims.embedDim;
    const started = performance.now();
    await trainer.fit({
      steps: c.steps,
      batch: (_step, rng) => {
        const px = new Float32Array(2 * B * plane);
        const txt = new Float32Array(2 * B * E);
        const ref = new Float32Array(B);
        const label = new Float32Array(B);
        const weight = new Float32Array(B);
        for (let k = 0; k < B; k++) {
          const i = rng.int(opts.pairs.length);
          const p = opts.pairs[i]!;
          px.set(opts.pixels(p.winner), k * plane);
          px.set(opts.pixels(p.loser), (B + k) * plane);
          const t = opts.table.textEmbeds.subarray(p.prompt * E, (p.prompt + 1) * E);
          txt.set(t, k * E);
          txt.set(t, (B + k) * E);
          ref[k] = opts.refMargin[i]!;
          label[k] = p.label;
          weight[k] = p.weight ?? 1;
        }
        return {
          pixel_values: new ort.Tensor('float32', px, [2 * B, 3, S, S]),
          text_embeds: new ort.Tensor('float32', txt, [2 * B, E]),
          ref_margin: new ort.Tensor('float32', ref, [B]),
          label: new ort.Tensor('float32', label, [B]),
          weight: new ort.Tensor('float32', weight, [B]),
        };
      },
      onProgress: (p) => opts.onProgress?.({ step: p.step, totalSteps: c.steps, loss: p.loss }),
      checkpoint: opts.checkpoint,
    });
    const weights = trainer.weights('current');
    const headTensors = new Map<string, TensorData>([...opts.head.tensors].filter(([k]) => k.startsWith('norm.')));
    const towerTensors = new Map<string, TensorData>();
    for (const [k, t] of weights) (HEAD_TRAINABLE.test(k) ? headTensors : towerTensors).set(k, t);
    return {
      head: { dims, tensors: headTensors },
      tower: { rank: tower.rank, alpha: tower.alpha, tensors: towerTensors },
      steps: c.steps,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await trainer.release();
  }
}
