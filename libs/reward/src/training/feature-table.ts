import type { ImageFeatures } from '../features/dual-encoder.features';

/**
 * The embeddings of one training run, computed once and cached (docs/learning-loop.md): every
 * image's style statistics and embedding, every prompt's embedding, as row-major matrices.
 * Pairs refer to rows by index, so the head trains on gathers, never on the encoders.
 */
export class FeatureTable {
  constructor(
    readonly styleDim: number,
    readonly embedDim: number,
    /** [images, styleDim] */
    readonly style: Float32Array,
    /** [images, embedDim] */
    readonly imageEmbeds: Float32Array,
    /** [prompts, embedDim] */
    readonly textEmbeds: Float32Array,
  ) {}

  static from(images: readonly ImageFeatures[], prompts: readonly Float32Array[]): FeatureTable {
    const styleDim = images[0]?.style.length ?? 0;
    const embedDim = images[0]?.embed.length ?? prompts[0]?.length ?? 0;
    const style = new Float32Array(images.length * styleDim);
    const imageEmbeds = new Float32Array(images.length * embedDim);
    images.forEach((f, i) => {
      style.set(f.style, i * styleDim);
      imageEmbeds.set(f.embed, i * embedDim);
    });
    const textEmbeds = new Float32Array(prompts.length * embedDim);
    prompts.forEach((p, i) => textEmbeds.set(p, i * embedDim));
    return new FeatureTable(styleDim, embedDim, style, imageEmbeds, textEmbeds);
  }

  get images(): number {
    return this.styleDim ? this.style.length / this.styleDim : 0;
  }

  get prompts(): number {
    return this.embedDim ? this.textEmbeds.length / this.embedDim : 0;
  }

  /** Feeds for rows (image i with prompt p) into preallocated matrices at `offset` rows. */
  gather(rows: readonly { image: number; prompt: number }[], out: { style: Float32Array; image: Float32Array; text: Float32Array }, offset = 0): void {
    const S = this.styleDim;
    const E = this.embedDim;
    rows.forEach(({ image, prompt }, k) => {
      const r = offset + k;
      out.style.set(this.style.subarray(image * S, (image + 1) * S), r * S);
      out.image.set(this.imageEmbeds.subarray(image * E, (image + 1) * E), r * E);
      out.text.set(this.textEmbeds.subarray(prompt * E, (prompt + 1) * E), r * E);
    });
  }

  /** Per-dimension mean and standard deviation of the style statistics over the given images. */
  styleMoments(images?: readonly number[]): { mean: Float32Array; std: Float32Array } {
    const S = this.styleDim;
    const rows = images ?? Array.from({ length: this.images }, (_, i) => i);
    const mean = new Float64Array(S);
    const sq = new Float64Array(S);
    for (const i of rows) {
      for (let d = 0; d < S; d++) {
        const v = this.style[i * S + d]!;
        mean[d] += v;
        sq[d] += v * v;
      }
    }
    const n = Math.max(rows.length, 1);
    const outMean = new Float32Array(S);
    const outStd = new Float32Array(S);
    for (let d = 0; d < S; d++) {
      const m = mean[d]! / n;
      outMean[d] = m;
      outStd[d] = Math.sqrt(Math.max(sq[d]! / n - m * m, 0)) + 1e-3;
    }
    return { mean: outMean, std: outStd };
  }
}

/** A preference pair over table rows: image `winner` ≻ image `loser` for prompt `prompt`. */
export interface IndexedPair {
  prompt: number;
  winner: number;
  loser: number;
  /** P(winner preferred): 1 for a preference, 0.5 for a tie. */
  label: number;
  /** Relative weight of the pair in the loss (default 1). */
  weight?: number;
}
