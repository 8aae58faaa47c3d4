import type { GraphNode } from '../../onnx/graph.model';
import { attrFloat, type GradContext } from '../grad-context.util';
import { instanceNormAsLayerNorm, invStdFromNormalized } from './normalization.rules';

/**
 * The GroupNorm export pattern x [N, C, H, W] → Reshape [N, G, L] → InstanceNormalization (unit
 * scale, zero bias) → Reshape [N, C, H, W] → Mul γ [C, 1, 1], differentiated as one unit.
 */
export interface GroupNormPattern {
  /** The NCHW input of the first Reshape. */
  x: string;
  /** The grouped input [N, G, L] and the InstanceNormalization node. */
  grouped: string;
  norm: GraphNode;
  /** x̂ back in NCHW (the second Reshape's output) and the per-channel γ of the Mul. */
  normed: string;
  gamma: string;
}

/**
 * Finds GroupNorm affine Muls whose normalized input feeds nothing else. `constantFill` says
 * whether a tensor is a frozen constant of one value; `shape` gives probed shapes.
 */
export function findGroupNorms(
  nodes: GraphNode[],
  constantFill: (name: string, value: number) => boolean,
  shape: (name: string) => number[] | undefined,
): Map<GraphNode, GroupNormPattern> {
  const producer = new Map<string, GraphNode>();
  const uses = new Map<string, number>();
  for (const n of nodes) {
    n.outputs.forEach((o) => producer.set(o, n));
    n.inputs.forEach((i) => uses.set(i, (uses.get(i) ?? 0) + 1));
  }
  const found = new Map<GraphNode, GroupNormPattern>();
  for (const mul of nodes) {
    if (mul.op !== 'Mul' || mul.domain !== '') continue;
    for (const [ni, gi] of [[0, 1], [1, 0]]) {
      const normed = mul.inputs[ni];
      const gamma = mul.inputs[gi];
      const back = producer.get(normed);
      const norm = back?.op === 'Reshape' ? producer.get(back.inputs[0]) : undefined;
      if (!back || norm?.op !== 'InstanceNormalization' || norm.outputs.length !== 1) continue;
      const grouped = norm.inputs[0];
      const split = producer.get(grouped);
      if (split?.op !== 'Reshape') continue;
      const [scale, bias] = [norm.inputs[1], norm.inputs[2]];
      if (!constantFill(scale, 1) || (bias && !constantFill(bias, 0))) continue;
      if (uses.get(normed) !== 1 || uses.get(norm.outputs[0]) !== 1 || uses.get(grouped) !== 1) continue;
      const x = split.inputs[0];
      const [xs, gs, ns, gammaShape] = [shape(x), shape(grouped), shape(normed), shape(gamma)];
      if (!xs || !gs || !ns || !gammaShape || xs.length !== 4 || gs.length !== 3) continue;
      const [n, c, h, w] = xs;
      if (ns.join() !== xs.join() || gs[0] !== n || c % gs[1] !== 0 || gs[2] !== (c / gs[1]) * h * w) continue;
      if (gammaShape.reduce((a, d) => a * d, 1) !== c || gammaShape[gammaShape.length - 3] !== c) continue;
      found.set(mul, { x, grouped, norm, normed, gamma });
      break;
    }
  }
  return found;
}

/**
 * Backward of y = x̂·γ for the GroupNorm pattern, with x̂ per (n, group) over L = (C/G)·H·W:
 *   ∂γ_c = Σ_n S[n, c],  S[n, c] = Σ_hw g ⊙ x̂,  R[n, c] = Σ_hw g
 *   ∂x = γ·g/s − x̂·(Σ_{c∈grp} γ_c S)/(L·s) − (Σ_{c∈grp} γ_c R)/(L·s)
 * The group means come from the per-channel sums S and R ([N, C, 1, 1]), so the full-size
 * passes are g ⊙ x̂, the two spatial sums and the four of ∂x: γ and 1/s are folded into one
 * per-(n, c) factor, the group terms applied to x̂ in its grouped view (no per-channel Expands).
 * Separately, ∂γ took a Mul and a reduction over g ⊙ x̂, the InstanceNorm
 * rule another Mul (g·γ), a Mul and a mean for mean(ĝ x̂) and a mean of ĝ, and ∂x four passes.
 * 1/s is the InvStdDev of the LayerNormalization the InstanceNormalization becomes (float32).
 */
export function groupNormBackward(ctx: GradContext, p: GroupNormPattern, g: string, needX: boolean, needGamma: boolean): { gx: string | null; gGamma: string | null } {
  const b = ctx.b;
  const [n, c, h, w] = ctx.shape(p.x);
  const groups = ctx.shape(p.grouped)[1];
  const perGroup = c / groups;
  const s = ctx.sum(b.mul(g, p.normed), [2, 3], 1);
  const gGamma = needGamma ? ctx.reshape(ctx.sum(s, [0], 0), ctx.shape(p.gamma)) : null;
  if (!needX) return { gx: null, gGamma };
  const invS =
    instanceNormAsLayerNorm(ctx, p.norm) ??
    invStdFromNormalized(ctx, p.norm.outputs[0], p.grouped, [2], attrFloat(p.norm, 'epsilon', 1e-5));
  const gamma = ctx.reshape(p.gamma, [1, c, 1, 1]);
  const r = ctx.sum(g, [2, 3], 1);
  // Per-group coefficients [N, G, 1] (−1/(L·s) shared) act on x̂ in its grouped view [N, G, L]
  // by broadcasting; only γ/s needs a per-channel [N, C, 1, 1] tensor (γ [G, C/G] × 1/s [N, G, 1]).
  const negInvSL = b.mul(invS, ctx.scalar(-1 / (perGroup * h * w), p.x));
  const groupCoef = (perChannelSum: string) => b.mul(ctx.sum(ctx.reshape(b.mul(perChannelSum, gamma), [n, groups, perGroup]), [2], 1), negInvSL);
  const gammaOverS = ctx.reshape(b.mul(ctx.reshape(p.gamma, [1, groups, perGroup]), invS), [n, c, 1, 1]);
  const grouped = b.add(b.mul(p.norm.outputs[0], groupCoef(s)), groupCoef(r)); // [N, G, L]
  const gx = b.add(b.mul(g, gammaOverS), ctx.reshape(grouped, [n, c, h, w]));
  return { gx, gGamma };
}
