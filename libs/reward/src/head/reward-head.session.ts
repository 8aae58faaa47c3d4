import * as ort from 'onnxruntime-node';
import { createSession, type TensorData } from '@vca/ml';
import type { FeatureTable } from '../training/feature-table';
import { buildRewardHeadGraph, setHeadWeights, type RewardHeadDims, type StyleNorm } from './reward-head.graph';

/** Trained head weights plus the frozen normalisation they were trained with. */
export interface RewardHeadWeights {
  dims: RewardHeadDims;
  /** `head.*` and `norm.*` tensors. */
  tensors: Map<string, TensorData>;
}

export function normOf(weights: RewardHeadWeights): StyleNorm {
  const mean = weights.tensors.get('norm.mean')?.data as Float32Array | undefined;
  const invStd = weights.tensors.get('norm.inv_std')?.data as Float32Array | undefined;
  if (!mean || !invStd) throw new Error('reward head: weights lack norm.mean / norm.inv_std');
  return { mean, std: invStd.map((v) => 1 / v) };
}

/** An ORT session of the scoring graph with given head weights. */
export class RewardHeadSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly dims: RewardHeadDims,
  ) {}

  static async create(weights: RewardHeadWeights, threads = 1): Promise<RewardHeadSession> {
    const graph = buildRewardHeadGraph(weights.dims, normOf(weights));
    setHeadWeights(graph, weights.tensors);
    const { session } = await createSession(graph, { threads, spinning: false });
    return new RewardHeadSession(session, weights.dims);
  }

  /** Reward and cosine for rows of raw features. */
  async score(style: Float32Array, imageEmbeds: Float32Array, textEmbeds: Float32Array): Promise<{ reward: Float32Array; cosine: Float32Array }> {
    const n = style.length / this.dims.styleDim;
    if (n === 0) return { reward: new Float32Array(0), cosine: new Float32Array(0) };
    const res = await this.session.run({
      style_features: new ort.Tensor('float32', style, [n, this.dims.styleDim]),
      image_embeds: new ort.Tensor('float32', imageEmbeds, [n, this.dims.embedDim]),
      text_embeds: new ort.Tensor('float32', textEmbeds, [n, this.dims.embedDim]),
    });
    return { reward: res['reward']!.data as Float32Array, cosine: res['cosine']!.data as Float32Array };
  }

  /** Scores (image, prompt) rows of a feature table, in chunks. */
  async scoreRows(table: FeatureTable, rows: readonly { image: number; prompt: number }[], chunk = 4096): Promise<{ reward: Float32Array; cosine: Float32Array }> {
    const reward = new Float32Array(rows.length);
    const cosine = new Float32Array(rows.length);
    for (let start = 0; start < rows.length; start += chunk) {
      const part = rows.slice(start, start + chunk);
      const buf = {
        style: new Float32Array(part.length * table.styleDim),
        image: new Float32Array(part.length * table.embedDim),
        text: new Float32Array(part.length * table.embedDim),
      };
      table.gather(part, buf);
      const r = await this.score(buf.style, buf.image, buf.text);
      reward.set(r.reward, start);
      cosine.set(r.cosine, start);
    }
    return { reward, cosine };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
