import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { captionSpec, createRng, deriveSeed, SceneRenderer, specOf } from '@vca/world';
import type { ClipTokenizer } from '@vca/diffusion';
import { renderBatch, sceneFor, tokenBatch } from '../data/scene-data.util';

/** The shipped dual encoder (image_encoder/ + clip_text_encoder/), unit-norm embeddings. */
export class DualEncoder {
  private constructor(
    private readonly image: ort.InferenceSession,
    private readonly text: ort.InferenceSession,
    private readonly tokenizer: ClipTokenizer,
    readonly imageSize: number,
  ) {}

  static async load(dir: string, tokenizer: ClipTokenizer, imageSize: number, threads = 0): Promise<DualEncoder> {
    const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads };
    return new DualEncoder(await ort.InferenceSession.create(join(dir, 'image_encoder', 'model.onnx'), opts), await ort.InferenceSession.create(join(dir, 'clip_text_encoder', 'model.onnx'), opts), tokenizer, imageSize);
  }

  async embedImages(pixels: Float32Array, n: number): Promise<Float32Array> {
    const out = await this.image.run({ pixel_values: new ort.Tensor('float32', pixels, [n, 3, this.imageSize, this.imageSize]) });
    return out['image_embeds']!.data as Float32Array;
  }

  async embedTexts(prompts: string[]): Promise<Float32Array> {
    const ids = new ort.Tensor('int64', tokenBatch(this.tokenizer, prompts), [prompts.length, this.tokenizer.maxLength]);
    return (await this.text.run({ input_ids: ids }))['text_embeds']!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.image.release();
    await this.text.release();
  }
}

/**
 * Image→caption retrieval among `pool` candidates: held-out scenes in blocks of `pool`; each
 * rendered image ranks the block's captions (one paraphrase per scene) by cosine similarity;
 * top-1 is right when its own caption ranks first.
 */
export async function evalRetrieval(dual: DualEncoder, n: number, pool: number, seed: number) {
  const renderer = new SceneRenderer({ size: dual.imageSize });
  let correct = 0;
  let total = 0;
  for (let start = 0; start + pool <= n; start += pool) {
    const scenes = Array.from({ length: pool }, (_, i) => sceneFor(seed, 'eval-retrieval', start + i, 'heldout'));
    const words = createRng(deriveSeed(seed, 'eval-retrieval-caption', start));
    const captions = scenes.map((s) => captionSpec(specOf(s), words));
    const img = await dual.embedImages(renderBatch(renderer, scenes), pool);
    const txt = await dual.embedTexts(captions);
    const d = img.length / pool;
    for (let i = 0; i < pool; i++) {
      let best = -1;
      let bestSim = -Infinity;
      for (let j = 0; j < pool; j++) {
        let sim = 0;
        for (let k = 0; k < d; k++) sim += img[i * d + k]! * txt[j * d + k]!;
        if (sim > bestSim) {
          bestSim = sim;
          best = j;
        }
      }
      if (best === i) correct++;
      total++;
    }
  }
  return { n: total, pool, top1: correct / total };
}
