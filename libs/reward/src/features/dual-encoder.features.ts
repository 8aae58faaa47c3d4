import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession, loadModel } from '@vca/ml';
import { ClipTokenizer, decodePng } from '@vca/diffusion';
import type { EncoderTaps } from './encoder-taps.util';
import { buildImageFeatureGraph, type TowerLora } from '../model/image-feature.graph';

/** Taps whose channel Gram matrix joins the style statistics (see encoder-taps.util.ts). */
export const DEFAULT_GRAM_TAPS = 2;

/** What the reward model needs of one image: the tower's embedding and its style statistics. */
export interface ImageFeatures {
  /** Unit-norm `image_embeds` [embedDim]. */
  embed: Float32Array;
  /** Per-tap channel means and standard deviations [styleDim]. */
  style: Float32Array;
}

export type EncoderPairLookup =
  | { ok: true; imageEncoder: string; textEncoder: string; tokenizer: string }
  | { ok: false; reason: string };

/**
 * The CLIP-style encoder pair of a model folder: `image_encoder/model.onnx` (`pixel_values` →
 * `image_embeds`), `clip_text_encoder/model.onnx` (`input_ids` → `text_embeds`) and the
 * tokenizer in `tokenizer/`. The embedded default family ships them; a user's Stable Diffusion
 * export needs them added (any CLIP export with those input and output names).
 */
export function findRewardEncoders(modelDir: string): EncoderPairLookup {
  const imageEncoder = join(modelDir, 'image_encoder', 'model.onnx');
  const textEncoder = join(modelDir, 'clip_text_encoder', 'model.onnx');
  const tokenizer = join(modelDir, 'tokenizer');
  const missing = [imageEncoder, textEncoder, tokenizer].filter((p) => !existsSync(p));
  if (missing.length === 0) return { ok: true, imageEncoder, textEncoder, tokenizer };
  return {
    ok: false,
    reason:
      `no CLIP-style encoder pair in ${modelDir} (missing ${missing.join(', ')}): add an image tower as ` +
      `image_encoder/model.onnx (pixel_values → image_embeds) and a text tower as clip_text_encoder/model.onnx ` +
      `(input_ids → text_embeds) to enable the reward model`,
  };
}

export interface DualEncoderOptions {
  threads?: number;
  /** Images per encoder call. */
  batch?: number;
  /** Taps (shallowest first) that also contribute their channel Gram matrix. */
  gramTaps?: number;
  /** A reward version's image-tower adapter. */
  tower?: TowerLora | null;
}

/**
 * The frozen dual encoder the reward model reads (never trained here): image features with the
 * style statistics of `encoder-taps.util.ts`, and text embeddings.
 */
export class DualEncoderFeatures {
  private constructor(
    private readonly image: ort.InferenceSession,
    private readonly text: ort.InferenceSession,
    private readonly tokenizer: ClipTokenizer,
    readonly imageSize: number,
    readonly embedDim: number,
    readonly styleDim: number,
    readonly taps: EncoderTaps,
    private readonly batch: number,
  ) {}

  static async load(modelDir: string, options: DualEncoderOptions = {}): Promise<DualEncoderFeatures> {
    const found = findRewardEncoders(modelDir);
    if (!found.ok) throw new Error(found.reason);
    const imageGraph = loadModel(found.imageEncoder);
    const pixelShape = imageGraph.inputs[0]?.shape;
    const imageSize = typeof pixelShape?.[3] === 'number' ? pixelShape[3] : 224;
    const features = buildImageFeatureGraph(imageGraph, { gramTaps: options.gramTaps ?? DEFAULT_GRAM_TAPS, tower: options.tower });
    const embedOut = imageGraph.outputs.find((o) => o.name === 'image_embeds') ?? imageGraph.outputs[0]!;
    const embedDim = typeof embedOut.shape?.[1] === 'number' ? embedOut.shape[1] : 0;
    const runtime = { threads: options.threads ?? 0, spinning: false };
    const [image, text] = await Promise.all([
      createSession(features.graph, runtime).then((h) => h.session),
      createSession(loadModel(found.textEncoder), runtime).then((h) => h.session),
    ]);
    const { taps, styleDim } = features;
    return new DualEncoderFeatures(image, text, ClipTokenizer.load(found.tokenizer), imageSize, embedDim, styleDim, taps, options.batch ?? 64);
  }

  /** Features of PNG images (any size: resized to the tower's input). */
  async encodePngs(pngs: readonly Uint8Array[]): Promise<ImageFeatures[]> {
    const size = { width: this.imageSize, height: this.imageSize };
    return this.encodePixels(pngs.map((png) => decodePng(png, size).data));
  }

  /** Features of images given as [3, S, S] floats in [−1, 1]. */
  async encodePixels(images: readonly Float32Array[]): Promise<ImageFeatures[]> {
    const out: ImageFeatures[] = [];
    const plane = 3 * this.imageSize * this.imageSize;
    for (let start = 0; start < images.length; start += this.batch) {
      const chunk = images.slice(start, start + this.batch);
      const pixels = new Float32Array(chunk.length * plane);
      chunk.forEach((img, i) => pixels.set(img, i * plane));
      const res = await this.image.run({ pixel_values: new ort.Tensor('float32', pixels, [chunk.length, 3, this.imageSize, this.imageSize]) });
      const embeds = res['image_embeds']!.data as Float32Array;
      const style = res['style_features']!.data as Float32Array;
      const e = embeds.length / chunk.length;
      for (let i = 0; i < chunk.length; i++) {
        out.push({ embed: embeds.slice(i * e, (i + 1) * e), style: style.slice(i * this.styleDim, (i + 1) * this.styleDim) });
      }
    }
    return out;
  }

  /** Unit-norm text embeddings of prompts. */
  async encodeTexts(prompts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const L = this.tokenizer.maxLength;
    for (let start = 0; start < prompts.length; start += this.batch) {
      const chunk = prompts.slice(start, start + this.batch);
      const ids = new BigInt64Array(chunk.length * L);
      chunk.forEach((p, i) => this.tokenizer.encode(p).forEach((id, j) => (ids[i * L + j] = BigInt(id))));
      const res = await this.text.run({ input_ids: new ort.Tensor('int64', ids, [chunk.length, L]) });
      const data = res['text_embeds']!.data as Float32Array;
      const d = data.length / chunk.length;
      for (let i = 0; i < chunk.length; i++) out.push(data.slice(i * d, (i + 1) * d));
    }
    return out;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.image.release(), this.text.release()]);
  }
}
