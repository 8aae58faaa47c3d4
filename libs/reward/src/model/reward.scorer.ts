import { DualEncoderFeatures, findRewardEncoders } from '../features/dual-encoder.features';
import { RewardHeadSession } from '../head/reward-head.session';
import type { RewardScorer, RewardScores } from '../reward-scorer.port';
import { encoderFingerprint, loadRewardVersion } from './reward-version.store';

export interface LoadRewardScorerOptions {
  modelDir: string;
  /** A reward version folder, or null for the plain cosine baseline. */
  versionDir: string | null;
  versionId: string | null;
  threads?: number;
}

/** Text embeddings are reused across rounds of a thread (same refined prompt, rerolls). */
const PROMPT_CACHE = 256;

/**
 * The RewardScorer on the dual encoder: with a version, r_φ from its head (on features from its
 * tower adapter, if any); always the base encoder's cosine beside it.
 */
export class DualEncoderRewardScorer implements RewardScorer {
  private readonly prompts = new Map<string, Float32Array>();

  private constructor(
    readonly versionId: string | null,
    private readonly base: DualEncoderFeatures,
    private readonly adapted: DualEncoderFeatures | null,
    private readonly head: RewardHeadSession | null,
  ) {}

  static async load(o: LoadRewardScorerOptions): Promise<DualEncoderRewardScorer> {
    const found = findRewardEncoders(o.modelDir);
    if (!found.ok) throw new Error(found.reason);
    const threads = o.threads ?? 1;
    if (!o.versionDir) {
      // Only the embeddings are read: no Gram statistics to compute.
      return new DualEncoderRewardScorer(null, await DualEncoderFeatures.load(o.modelDir, { threads, gramTaps: 0 }), null, null);
    }
    const version = loadRewardVersion(o.versionDir);
    const fp = encoderFingerprint(found.imageEncoder, found.textEncoder);
    if (fp.imageEncoderSha256 !== version.manifest.encoder.imageEncoderSha256 || fp.textEncoderSha256 !== version.manifest.encoder.textEncoderSha256) {
      throw new Error(`reward version ${o.versionDir} was trained on other encoders than those in ${o.modelDir}`);
    }
    const gramTaps = version.manifest.gramTaps;
    // With a tower adapter the base encoder only gives the cosine's embeddings.
    const base = await DualEncoderFeatures.load(o.modelDir, { threads, gramTaps: version.tower ? 0 : gramTaps });
    const adapted = version.tower ? await DualEncoderFeatures.load(o.modelDir, { threads, gramTaps, tower: version.tower }) : null;
    const head = await RewardHeadSession.create(version.head, threads);
    return new DualEncoderRewardScorer(o.versionId, base, adapted, head);
  }

  private async promptEmbedding(prompt: string): Promise<Float32Array> {
    let e = this.prompts.get(prompt);
    if (!e) {
      [e] = await this.base.encodeTexts([prompt]);
      if (this.prompts.size >= PROMPT_CACHE) this.prompts.delete(this.prompts.keys().next().value!);
      this.prompts.set(prompt, e!);
    }
    return e!;
  }

  async score(prompt: string, pngs: readonly Uint8Array[]): Promise<RewardScores[]> {
    if (pngs.length === 0) return [];
    const text = await this.promptEmbedding(prompt);
    const base = await this.base.encodePngs(pngs);
    const cosine = base.map((f) => f.embed.reduce((a, v, i) => a + v * text[i]!, 0));
    if (!this.head) return cosine.map((c) => ({ reward: c, cosine: c }));
    const feats = this.adapted ? await this.adapted.encodePngs(pngs) : base;
    const S = this.head.dims.styleDim;
    const E = this.head.dims.embedDim;
    const style = new Float32Array(pngs.length * S);
    const image = new Float32Array(pngs.length * E);
    const texts = new Float32Array(pngs.length * E);
    feats.forEach((f, i) => {
      style.set(f.style, i * S);
      image.set(f.embed, i * E);
      texts.set(text, i * E);
    });
    const { reward } = await this.head.score(style, image, texts);
    return cosine.map((c, i) => ({ reward: reward[i]!, cosine: c }));
  }

  async dispose(): Promise<void> {
    await Promise.all([this.base.dispose(), this.adapted?.dispose(), this.head?.release()]);
  }
}

export const loadRewardScorer = (o: LoadRewardScorerOptions): Promise<RewardScorer> => DualEncoderRewardScorer.load(o);
