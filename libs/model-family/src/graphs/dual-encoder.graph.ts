import { GraphBuilder, Layers, Rng, type Graph } from '@vca/ml';
import { textEncoderLayers, type TextEncoderDims } from './text-encoder.graph';

export interface DualEncoderDims {
  imageSize: number;
  imageChannels: [number, number, number, number];
  text: TextEncoderDims;
  embedDim: number;
}

/** x / ‖x‖₂ over the last axis (ε keeps the gradient finite at 0). */
function l2normalize(g: GraphBuilder, x: string): string {
  return g.div(x, g.sqrt(g.add(g.reduceSum(g.mul(x, x), [-1], 1), g.scalar(1e-8))));
}

/**
 * Image tower: four stride-2 conv stages (conv3×3 s2 → GroupNorm → SiLU → conv3×3 → SiLU),
 * 64 px → 4×4, then flatten and project. Flattening instead of global pooling keeps where things
 * are, which captions name ("in the top left"). Returns unit-norm [N, embedDim].
 */
export function imageTowerLayers(l: Layers, pixels: string, d: DualEncoderDims): string {
  const g = l.g;
  let h = pixels;
  let cin = 3;
  let size = d.imageSize;
  d.imageChannels.forEach((c, i) => {
    size /= 2;
    h = l.conv(`image.stage${i}.down`, h, cin, c, 3, 2);
    h = g.silu(l.groupNorm(`image.stage${i}.norm`, h, Math.min(8, c), [0, c, size, size]));
    h = g.silu(l.conv(`image.stage${i}.conv`, h, c, c, 3));
    cin = c;
  });
  const flat = cin * size * size;
  h = g.reshape(h, [0, flat]);
  return l2normalize(g, l.linear('image.proj', h, flat, d.embedDim));
}

/** Text tower: the family's transformer encoder, mean over positions, projection. Unit-norm [N, embedDim]. */
export function textTowerLayers(l: Layers, inputIds: string, d: DualEncoderDims): string {
  const g = l.g;
  const states = textEncoderLayers(l, 'dual_text', inputIds, d.text);
  const pooled = g.reduceMean(states, [1], 0);
  return l2normalize(g, l.linear('dual_text.proj', pooled, d.text.hidden, d.embedDim));
}

/**
 * Contrastive training graph (CLIP, Radford et al. 2021, Fig. 3 pseudo-code): logits = e^τ·I·Tᵀ
 * over the batch, loss = ½(CE(logits, diag) + CE(logitsᵀ, diag)), τ learned (init ln 10).
 * Inputs `pixel_values` [B,3,S,S], `input_ids` [B,L]; output `loss`.
 */
export function buildDualTrainingGraph(d: DualEncoderDims, batch: number, seed = 0): { graph: Graph; loss: string } {
  const g = new GraphBuilder('dual_encoder_train');
  const l = new Layers(g, new Rng(seed));
  const pixels = g.input('pixel_values', 'float32', [batch, 3, d.imageSize, d.imageSize]);
  const ids = g.input('input_ids', 'int64', [batch, d.text.maxLength]);
  const img = imageTowerLayers(l, pixels, d);
  const txt = textTowerLayers(l, ids, d);
  const scale = g.exp(g.initializer('logit_scale', [Math.log(10)], [1]));
  const logits = g.mul(g.matmul(img, g.transpose(txt, [1, 0])), scale);
  const eye = g.constant(Float32Array.from({ length: batch * batch }, (_, i) => (i % (batch + 1) === 0 ? 1 : 0)), [batch, batch]);
  const ceRows = g.reduceSum(g.mul(g.op('LogSoftmax', [logits], { axis: 1 }), eye), [0, 1], 0);
  const ceCols = g.reduceSum(g.mul(g.op('LogSoftmax', [logits], { axis: 0 }), eye), [0, 1], 0);
  g.op('Mul', [g.add(ceRows, ceCols), g.scalar(-0.5 / batch)], {}, 'loss');
  g.output('loss', 'float32', []);
  return { graph: g.build(), loss: 'loss' };
}

/** Export graphs: `pixel_values` → `image_embeds`, and `input_ids` → `text_embeds` (both unit-norm). */
export function buildImageEncoderGraph(d: DualEncoderDims): Graph {
  const g = new GraphBuilder('image_encoder');
  const l = new Layers(g, new Rng(0));
  const pixels = g.input('pixel_values', 'float32', ['batch', 3, d.imageSize, d.imageSize]);
  g.op('Identity', [imageTowerLayers(l, pixels, d)], {}, 'image_embeds');
  g.output('image_embeds', 'float32', ['batch', d.embedDim]);
  return g.build();
}

export function buildDualTextEncoderGraph(d: DualEncoderDims): Graph {
  const g = new GraphBuilder('clip_text_encoder');
  const l = new Layers(g, new Rng(0));
  const ids = g.input('input_ids', 'int64', ['batch', d.text.maxLength]);
  g.op('Identity', [textTowerLayers(l, ids, d)], {}, 'text_embeds');
  g.output('text_embeds', 'float32', ['batch', d.embedDim]);
  return g.build();
}
