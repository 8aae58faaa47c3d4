import { attention, GraphBuilder, Layers, Rng, type Graph } from '@vca/ml';

export interface TextEncoderDims {
  vocabSize: number;
  maxLength: number;
  hidden: number;
  layers: number;
  heads: number;
  mlpRatio: number;
}

/**
 * A small pre-LayerNorm transformer encoder (Vaswani et al. 2017; the CLIP text tower's layout
 * without its causal mask): token + learned position embeddings, `layers` × [x + MHA(LN(x)),
 * x + MLP(LN(x))] with GELU, final LayerNorm. Bidirectional attention over all `maxLength`
 * positions (pads included) lets a colour word bind to the shape word that follows it.
 * Emits into `l.g` and returns the [N, L, hidden] token states; weights are named `${prefix}.…`.
 */
export function textEncoderLayers(l: Layers, prefix: string, inputIds: string, d: TextEncoderDims): string {
  const g = l.g;
  const { hidden: h, maxLength: L } = d;
  const tok = l.param(`${prefix}.token_embedding.weight`, [d.vocabSize, h], { std: 0.2 });
  const pos = l.param(`${prefix}.position_embedding.weight`, [1, L, h], { std: 0.1 });
  let x = g.add(g.gather(tok, inputIds), pos);
  const ln = (name: string, v: string) => g.layerNorm(v, l.param(`${name}.weight`, [h], { fill: 1 }), l.param(`${name}.bias`, [h], { fill: 0 }));
  for (let i = 0; i < d.layers; i++) {
    const p = `${prefix}.layers.${i}`;
    x = g.add(x, attention(l, `${p}.attn`, ln(`${p}.ln1`, x), L, h, d.heads));
    const m = l.linear(`${p}.mlp.fc2`, g.gelu(l.linear(`${p}.mlp.fc1`, ln(`${p}.ln2`, x), h, h * d.mlpRatio)), h * d.mlpRatio, h);
    x = g.add(x, m);
  }
  return ln(`${prefix}.final_ln`, x);
}

/** Standalone text encoder in the export layout: `input_ids` [N, L] int64 → `last_hidden_state` [N, L, hidden]. */
export function buildTextEncoderGraph(d: TextEncoderDims, prefix = 'text', seed = 0): Graph {
  const g = new GraphBuilder('text_encoder');
  const l = new Layers(g, new Rng(seed));
  const ids = g.input('input_ids', 'int64', ['batch', d.maxLength]);
  g.op('Identity', [textEncoderLayers(l, prefix, ids, d)], {}, 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch', d.maxLength, d.hidden]);
  return g.build();
}
