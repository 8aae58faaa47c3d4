import { COLORS, POSITIONS, SHAPES, SIZES, type SceneSpec } from '@vca/world';
import { GROUP_OFFSET, LABEL_DIM, PARSER_SLOTS } from '../graphs/prompt-parser.graph';

/**
 * The parser's targets for one prompt, from the spec the caption grammar wrote it from:
 * [slots, LABEL_DIM], one-hot within each group. A shape the prompt does not name is "not named"
 * with every attribute unsaid; the background slot is named when the prompt names a background.
 */
export function parserLabels(spec: SceneSpec, out = new Float32Array(PARSER_SLOTS.length * LABEL_DIM), offset = 0): Float32Array {
  const set = (slot: number, at: number) => (out[offset + slot * LABEL_DIM + at] = 1);
  const unsaid = { color: COLORS.length, size: SIZES.length, position: POSITIONS.length };
  SHAPES.forEach((shape, slot) => {
    const o = spec.objects.find((x) => x.shape === shape);
    set(slot, GROUP_OFFSET.present + (o ? 1 : 0));
    set(slot, GROUP_OFFSET.color + (o?.color ? COLORS.indexOf(o.color) : unsaid.color));
    set(slot, GROUP_OFFSET.size + (o?.size ? SIZES.indexOf(o.size) : unsaid.size));
    set(slot, GROUP_OFFSET.position + (o?.position ? POSITIONS.indexOf(o.position) : unsaid.position));
  });
  const bg = SHAPES.length;
  set(bg, GROUP_OFFSET.present + (spec.background ? 1 : 0));
  set(bg, GROUP_OFFSET.color + (spec.background ? COLORS.indexOf(spec.background) : unsaid.color));
  set(bg, GROUP_OFFSET.size + unsaid.size);
  set(bg, GROUP_OFFSET.position + unsaid.position);
  return out;
}

/**
 * Reads a spec back from per-slot group scores (logits, or the grounding tokens' probabilities):
 * argmax per group. `stride` is the per-slot width and `labelAt` where the groups start in a slot
 * (LABEL_DIM and 0 for logits; GROUNDING_DIM and the identity width for grounding tokens).
 */
export function specFromParser(scores: ArrayLike<number>, offset = 0, stride = LABEL_DIM, labelAt = 0): SceneSpec {
  const argmax = (slot: number, at: number, n: number) => {
    const base = offset + slot * stride + labelAt + at;
    let best = 0;
    for (let i = 1; i < n; i++) if (scores[base + i]! > scores[base + best]!) best = i;
    return best;
  };
  const objects: SceneSpec['objects'] = [];
  SHAPES.forEach((shape, slot) => {
    if (argmax(slot, GROUP_OFFSET.present, 2) !== 1) return;
    const c = argmax(slot, GROUP_OFFSET.color, COLORS.length + 1);
    const s = argmax(slot, GROUP_OFFSET.size, SIZES.length + 1);
    const p = argmax(slot, GROUP_OFFSET.position, POSITIONS.length + 1);
    objects.push({ shape, color: COLORS[c], size: SIZES[s], position: POSITIONS[p] });
  });
  const bg = SHAPES.length;
  const named = argmax(bg, GROUP_OFFSET.present, 2) === 1;
  return { background: named ? COLORS[argmax(bg, GROUP_OFFSET.color, COLORS.length + 1)] : undefined, objects };
}
