import { applyConvLora, type Graph, type TensorData } from '@vca/ml';
import { findEncoderTaps, styleDimOf, withStyleFeatures, type EncoderTaps } from '../features/encoder-taps.util';

/**
 * The image tower's trainable adapter of a reward version: conv LoRA of `rank` on every
 * convolution, or with rank 0 a full fine-tune (then `tensors` are the tower's own weights).
 */
export interface TowerLora {
  rank: number;
  alpha: number;
  /** `<conv weight>.lora_A` / `.lora_B` tensors; absent before training (B = 0: no change). */
  tensors?: ReadonlyMap<string, TensorData>;
}

export interface ImageFeatureGraph {
  /** `pixel_values` → `image_embeds`, `style_features`. */
  graph: Graph;
  taps: EncoderTaps;
  styleDim: number;
  /** LoRA tensor names (trainable), empty without a tower adapter. */
  loraTensors: string[];
}

/** Only the tower's own convolutions get LoRA (not the feature taps added after them). */
export const TOWER_LORA_TARGET = /\.weight$/;

/**
 * The frozen image tower (optionally with a conv-LoRA adapter) with its style taps
 * (`encoder-taps.util.ts`). Taps are found on the base graph: LoRA keeps every tensor name.
 */
export function buildImageFeatureGraph(imageEncoder: Graph, opts: { gramTaps: number; tower?: TowerLora | null }): ImageFeatureGraph {
  const taps = findEncoderTaps(imageEncoder);
  let graph = imageEncoder;
  const loraTensors: string[] = [];
  if (opts.tower && opts.tower.rank === 0) {
    // Full fine-tune: the tensors are the tower's own weights.
    graph = { ...imageEncoder, initializers: new Map(imageEncoder.initializers) };
    for (const [name, t] of imageEncoder.initializers) if (TOWER_LORA_TARGET.test(name) || /\.bias$/.test(name)) loraTensors.push(name);
    for (const [name, t] of opts.tower.tensors ?? []) {
      if (!graph.initializers.has(name)) throw new Error(`reward tower: ${name} is not a weight of this image encoder`);
      graph.initializers.set(name, t);
    }
  } else if (opts.tower) {
    const lora = applyConvLora(imageEncoder, { target: TOWER_LORA_TARGET, rank: opts.tower.rank, alpha: opts.tower.alpha });
    graph = lora.graph;
    for (const a of lora.adapters) loraTensors.push(a.a, a.b);
    if (opts.tower.tensors) {
      for (const [name, t] of opts.tower.tensors) {
        if (!graph.initializers.has(name)) throw new Error(`reward tower LoRA: ${name} matches no convolution of this image encoder`);
        graph.initializers.set(name, t);
      }
    }
  }
  return { graph: withStyleFeatures(graph, taps, { gramTaps: opts.gramTaps }), taps, styleDim: styleDimOf(taps, { gramTaps: opts.gramTaps }), loraTensors };
}
