import { GraphBuilder, Layers, Rng, type Graph } from '@vca/ml';
import { COLORS, POSITIONS, SHAPES, SIZES } from '@vca/world';
import { textEncoderLayers, type TextEncoderDims } from './text-encoder.graph';

/**
 * The grounding-token layout the prompt parser emits and the layout-conditioned UNet reads.
 * One token per slot: the five shapes (a scene names each shape at most once, so a shape is a
 * canonical, order-free slot) and the background. Each token holds the slot's identity (one-hot,
 * scaled by the probability that the prompt names it) and four probability groups: named or not,
 * colour, size and 3×3 grid cell, each with an "unsaid" class.
 */
export const PARSER_SLOTS = [...SHAPES, 'background'] as const;
export const PARSER_GROUPS = [
  { name: 'present', classes: 2 },
  { name: 'color', classes: COLORS.length + 1 },
  { name: 'size', classes: SIZES.length + 1 },
  { name: 'position', classes: POSITIONS.length + 1 },
] as const;
export type ParserGroup = (typeof PARSER_GROUPS)[number]['name'];

/** Offset of each group inside the label vector (logits/probabilities, without the identity part). */
export const GROUP_OFFSET: Record<ParserGroup, number> = (() => {
  let at = 0;
  const out = {} as Record<ParserGroup, number>;
  for (const grp of PARSER_GROUPS) {
    out[grp.name] = at;
    at += grp.classes;
  }
  return out;
})();
export const LABEL_DIM = PARSER_GROUPS.reduce((n, grp) => n + grp.classes, 0);
/** Width of a grounding token: slot identity + label probabilities. */
export const GROUNDING_DIM = PARSER_SLOTS.length + LABEL_DIM;
/** Where a token's 3×3-cell distribution starts (9 cells, then the "unsaid" class). */
export const GROUNDING_CELLS_OFFSET = PARSER_SLOTS.length + GROUP_OFFSET.position;

export interface PromptParserDims extends TextEncoderDims {
  /** Width of the slot read-out MLP. */
  readoutHidden: number;
}

/**
 * The prompt parser: the family's transformer encoder over the words, then one learned query per
 * slot attends over the token states (a DETR/Perceiver-style read-out; Carion et al. 2020) and an
 * MLP maps each slot's read-out to the logits of the four label groups. Returns the logits
 * [N, slots, LABEL_DIM]. Trained with supervision from the caption grammar, which knows exactly
 * what every prompt names (see parserLabels).
 */
export function promptParserLogits(l: Layers, inputIds: string, d: PromptParserDims): string {
  const g = l.g;
  const h = d.hidden;
  const M = PARSER_SLOTS.length;
  const states = textEncoderLayers(l, 'parser', inputIds, d);
  const query = l.param('parser.slot_query.weight', [M, h], { std: 1 });
  const k = l.linear('parser.readout.k', states, h, h, false);
  const v = l.linear('parser.readout.v', states, h, h, false);
  const scores = g.mul(g.matmul(query, g.transpose(k, [0, 2, 1])), g.scalar(1 / Math.sqrt(h)));
  const slots = g.add(g.matmul(g.softmax(scores, -1), v), query);
  const ln = g.layerNorm(slots, l.param('parser.readout.ln.weight', [h], { fill: 1 }), l.param('parser.readout.ln.bias', [h], { fill: 0 }));
  const hidden = g.gelu(l.linear('parser.readout.fc1', ln, h, d.readoutHidden));
  return l.linear('parser.readout.fc2', hidden, d.readoutHidden, LABEL_DIM);
}

/** Log-probabilities per group ([N, slots, LABEL_DIM], each group normalised on its own). */
export function groupLogSoftmax(g: GraphBuilder, logits: string): string {
  return g.concat(
    PARSER_GROUPS.map((grp) => g.op('LogSoftmax', [g.slice(logits, [GROUP_OFFSET[grp.name]], [GROUP_OFFSET[grp.name] + grp.classes], [2])], { axis: -1 })),
    2,
  );
}

/** Grounding tokens from logits: [identity·P(named) ‖ group probabilities], [N, slots, GROUNDING_DIM]. */
export function groundingTokens(g: GraphBuilder, logits: string): string {
  const probs = g.exp(groupLogSoftmax(g, logits));
  const M = PARSER_SLOTS.length;
  const identity = g.constant(Float32Array.from({ length: M * M }, (_, i) => (i % (M + 1) === 0 ? 1 : 0)), [1, M, M]);
  const named = g.slice(probs, [GROUP_OFFSET.present + 1], [GROUP_OFFSET.present + 2], [2]);
  return g.concat([g.mul(identity, named), probs], 2);
}

/**
 * Supervised training graph: loss = −mean over prompts of Σ_slots Σ_groups log p(label), with
 * `labels` [N, slots, LABEL_DIM] one-hot per group (parserLabels).
 */
export function buildPromptParserTrainingGraph(d: PromptParserDims, batch: number, seed = 0): { graph: Graph; loss: string } {
  const g = new GraphBuilder('prompt_parser_train');
  const l = new Layers(g, new Rng(seed));
  const ids = g.input('input_ids', 'int64', [batch, d.maxLength]);
  const labels = g.input('labels', 'float32', [batch, PARSER_SLOTS.length, LABEL_DIM]);
  const logp = groupLogSoftmax(g, promptParserLogits(l, ids, d));
  g.op('Mul', [g.reduceSum(g.mul(logp, labels), [0, 1, 2], 0), g.scalar(-1 / batch)], {}, 'loss');
  g.output('loss', 'float32', []);
  return { graph: g.build(), loss: 'loss' };
}

/** Export graph (the family's `text_encoder/`): `input_ids` [N, L] → `last_hidden_state` [N, slots, GROUNDING_DIM]. */
export function buildPromptParserGraph(d: PromptParserDims, seed = 0): Graph {
  const g = new GraphBuilder('text_encoder');
  const l = new Layers(g, new Rng(seed));
  const ids = g.input('input_ids', 'int64', ['batch', d.maxLength]);
  g.op('Identity', [groundingTokens(g, promptParserLogits(l, ids, d))], {}, 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch', PARSER_SLOTS.length, GROUNDING_DIM]);
  return g.build();
}
