import { GraphBuilder, Layers, Rng, type Graph, type TensorData } from '@vca/ml';

/**
 * The reward head r_φ(p, x) on the frozen dual encoder's features (docs/learning-loop.md):
 *
 *   z = [ (s − μ)/σ ,  √E·(e_x ⊙ e_p) ]                 s: style statistics, e: unit embeddings
 *   r = w₂·SiLU(W₁ z + b₁) + b₂ + κ·cos(e_x, e_p)
 *
 * The first block carries what no caption names (the community's taste), the element-wise
 * product lets the MLP weigh which parts of the prompt the image matches, and κ·cos keeps the
 * plain CLIP-style score as one input the head can lean on. κ starts at the dual encoder's
 * learned logit scale, so an untrained head already ranks like the cosine baseline.
 * μ, σ (per style dimension, from the training images) are frozen constants of the version.
 */
export interface RewardHeadDims {
  styleDim: number;
  embedDim: number;
  hidden: number;
}

export interface StyleNorm {
  mean: Float32Array;
  std: Float32Array;
}

/** Trainable tensors are those named `head.*`; `norm.*` are frozen constants. */
export const HEAD_TRAINABLE = /^head\./;

export function headLayers(l: Layers, style: string, imageEmbeds: string, textEmbeds: string, d: RewardHeadDims, norm: StyleNorm, cosScale: number): { reward: string; cosine: string } {
  const g = l.g;
  const mean = g.initializer('norm.mean', norm.mean, [d.styleDim]);
  const invStd = g.initializer('norm.inv_std', norm.std.map((s) => 1 / Math.max(s, 1e-4)), [d.styleDim]);
  const s = g.mul(g.sub(style, mean), invStd);
  const inter = g.mul(imageEmbeds, textEmbeds);
  const cosine = g.reduceSum(inter, [1], 1);
  const z = g.concat([s, g.mul(inter, g.scalar(Math.sqrt(d.embedDim)))], 1);
  const h = g.silu(l.linear('head.fc1', z, d.styleDim + d.embedDim, d.hidden));
  const fc2 = l.param('head.fc2.weight', [d.hidden, 1], { std: 0.1 / Math.sqrt(d.hidden) });
  const b2 = l.param('head.fc2.bias', [1], { fill: 0 });
  const kappa = l.param('head.cos_scale', [1], { fill: cosScale });
  const r = g.add(g.add(g.matmul(h, fc2), b2), g.mul(cosine, kappa));
  return { reward: g.reshape(r, [-1]), cosine: g.reshape(cosine, [-1]) };
}

/** Scoring graph: `style_features` [N,S], `image_embeds` [N,E], `text_embeds` [N,E] → `reward` [N], `cosine` [N]. */
export function buildRewardHeadGraph(d: RewardHeadDims, norm: StyleNorm, opts: { seed?: number; cosScale?: number } = {}): Graph {
  const g = new GraphBuilder('reward_head');
  const l = new Layers(g, new Rng(opts.seed ?? 0));
  const style = g.input('style_features', 'float32', ['batch', d.styleDim]);
  const img = g.input('image_embeds', 'float32', ['batch', d.embedDim]);
  const txt = g.input('text_embeds', 'float32', ['batch', d.embedDim]);
  const { reward, cosine } = headLayers(l, style, img, txt, d, norm, opts.cosScale ?? 10);
  g.op('Identity', [reward], {}, 'reward');
  g.op('Identity', [cosine], {}, 'cosine');
  g.output('reward', 'float32', ['batch']);
  g.output('cosine', 'float32', ['batch']);
  return g.build();
}

/**
 * The preference loss on a batch of B pairs (docs/learning-loop.md, "Training"). Rows 0..B−1 of
 * the feature inputs are the preferred images, rows B..2B−1 the rejected ones (same prompt):
 *
 *   d = (r⁺ − r⁻) − (r_ref⁺ − r_ref⁻)          `ref_margin` = r_ref⁺ − r_ref⁻ (0: no reference)
 *   L = Σ w·[ y·softplus(−β d) + (1 − y)·softplus(β d) ] / Σ w
 *
 * With y = 1 this is DPO's −log σ(β d) (Rafailov et al. 2023, eq. 7, with the reward model as
 * the policy and the active version as the frozen reference); without a reference it is the
 * Bradley–Terry loss −log σ(r⁺ − r⁻) (β = 1). y = ½ (a tie) pulls d towards 0. Rows with w = 0
 * pad the last batch.
 */
export interface PreferenceLossOptions {
  beta?: number;
  seed?: number;
  cosScale?: number;
  /**
   * Per-image offsets for the training images (count), with an L2 penalty `offsetPenalty`:
   * r_train(p, x_i) = r(p, x_i) + u_i. An image-specific effect the features cannot explain (an
   * image that misses what was asked, which every rater votes down) is absorbed by u_i instead
   * of being pushed onto the features; only the head is kept (u is not part of a version).
   */
  imageOffsets?: number;
  offsetPenalty?: number;
}

/** Trainable per-image offsets of `PreferenceLossOptions.imageOffsets`. */
export const IMAGE_OFFSETS = 'offset.images';
const OFFSET_SCALE = 30;

export function buildPreferenceLossGraph(d: RewardHeadDims, norm: StyleNorm, batch: number, opts: PreferenceLossOptions = {}): { graph: Graph; loss: string } {
  const g = new GraphBuilder('reward_head_dpo');
  const l = new Layers(g, new Rng(opts.seed ?? 0));
  const style = g.input('style_features', 'float32', [2 * batch, d.styleDim]);
  const img = g.input('image_embeds', 'float32', [2 * batch, d.embedDim]);
  const txt = g.input('text_embeds', 'float32', [2 * batch, d.embedDim]);
  let { reward } = headLayers(l, style, img, txt, d, norm, opts.cosScale ?? 10);
  let penalty: string | null = null;
  if (opts.imageOffsets) {
    const offsets = g.initializer(IMAGE_OFFSETS, new Float32Array(opts.imageOffsets), [opts.imageOffsets]);
    // Scaled so that Adam's step (≈ lr per visit) moves an image's offset far enough in the few
    // batches that contain it.
    const u = g.mul(g.gather(offsets, g.input('image_index', 'int64', [2 * batch]), 0), g.scalar(OFFSET_SCALE));
    reward = g.add(reward, u);
    // λ·mean over the batch's images of u² (each image's offset is shrunk as often as it is seen).
    penalty = g.mul(g.reduceMean(g.mul(u, u), [0], 0), g.scalar(opts.offsetPenalty ?? 0.1));
  }
  let total = appendPreferenceLoss(g, reward, batch, opts.beta ?? 1);
  if (penalty) total = g.add(total, penalty);
  g.op('Identity', [total], {}, 'loss');
  g.output('loss', 'float32', []);
  return { graph: g.build(), loss: 'loss' };
}

/** Copies trained `head.*` weights (and the version's norm) into a graph built with the same dims. */
export function setHeadWeights(graph: Graph, weights: ReadonlyMap<string, TensorData>): void {
  for (const [name, t] of weights) {
    if (!graph.initializers.has(name)) throw new Error(`reward head: unexpected tensor ${name}`);
    graph.initializers.set(name, t);
  }
}

/**
 * The loss of `buildPreferenceLossGraph` on a reward vector [2B] (winners first), adding the
 * inputs `ref_margin`, `label` and `weight` [B]; returns the scalar loss.
 */
export function appendPreferenceLoss(g: GraphBuilder, reward: string, batch: number, beta: number): string {
  const refMargin = g.input('ref_margin', 'float32', [batch]);
  const label = g.input('label', 'float32', [batch]);
  const weight = g.input('weight', 'float32', [batch]);
  const pos = g.slice(reward, [0], [batch], [0]);
  const neg = g.slice(reward, [batch], [2 * batch], [0]);
  const margin = g.mul(g.sub(g.sub(pos, neg), refMargin), g.scalar(beta));
  const softplus = (x: string) => g.op('Softplus', [x]);
  const perPair = g.add(g.mul(label, softplus(g.neg(margin))), g.mul(g.sub(g.scalar(1), label), softplus(margin)));
  return g.div(g.reduceSum(g.mul(perPair, weight), [0], 0), g.add(g.reduceSum(weight, [0], 0), g.scalar(1e-8)));
}
