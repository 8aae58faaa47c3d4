import type { Layers } from './layers.factory';

/** UNet building blocks (Stable-Diffusion style) over fixed NCHW shapes. */

/** Spatial size of a block's input; the batch dimension stays symbolic (reshapes copy it with 0). */
export interface BlockShape {
  height: number;
  width: number;
}

/**
 * Residual block: GroupNorm–SiLU–conv3×3, plus the projected time embedding, GroupNorm–SiLU–
 * conv3×3, with a 1×1 convolution on the skip path when the channel count changes.
 */
export function resBlock(l: Layers, name: string, x: string, temb: string, tembDim: number, cin: number, cout: number, s: BlockShape, groups: number): string {
  const g = l.g;
  let h = l.conv(`${name}.conv1`, g.silu(l.groupNorm(`${name}.norm1`, x, groups, [0, cin, s.height, s.width])), cin, cout, 3);
  const t = g.reshape(l.linear(`${name}.time_proj`, g.silu(temb), tembDim, cout), [0, cout, 1, 1]);
  h = g.add(h, t);
  h = l.conv(`${name}.conv2`, g.silu(l.groupNorm(`${name}.norm2`, h, groups, [0, cout, s.height, s.width])), cout, cout, 3);
  const skip = cin === cout ? x : l.conv(`${name}.skip`, x, cin, cout, 1);
  return g.add(skip, h);
}

/**
 * Multi-head attention with bias-free q/k/v/out projections: softmax(q·kᵀ/√d)·v per head
 * (Vaswani et al. 2017, eq. 1). `tokens` is [N, L, C]; `context` [N, M, Cctx] for cross-attention.
 */
export function attention(l: Layers, name: string, tokens: string, len: number, c: number, heads: number, context?: { name: string; len: number; dim: number }): string {
  const g = l.g;
  const d = c / heads;
  const kvIn = context ? context.name : tokens;
  const kvLen = context ? context.len : len;
  const kvDim = context ? context.dim : c;
  // Scaling q before the product is cheaper than scaling the L×M scores.
  const q = g.mul(l.linear(`${name}.q`, tokens, c, c, false), g.scalar(1 / Math.sqrt(d)));
  const k = l.linear(`${name}.k`, kvIn, kvDim, c, false);
  const v = l.linear(`${name}.v`, kvIn, kvDim, c, false);
  const qh = g.transpose(g.reshape(q, [0, len, heads, d]), [0, 2, 1, 3]);
  const kt = g.transpose(g.reshape(k, [0, kvLen, heads, d]), [0, 2, 3, 1]);
  const vh = g.transpose(g.reshape(v, [0, kvLen, heads, d]), [0, 2, 1, 3]);
  const attn = g.softmax(g.matmul(qh, kt), -1);
  const o = g.reshape(g.transpose(g.matmul(attn, vh), [0, 2, 1, 3]), [0, len, c]);
  return l.linear(`${name}.out`, o, c, c, false);
}

/** GroupNorm, then residual self-attention and residual cross-attention over the H·W tokens. */
export function attentionBlock(l: Layers, name: string, x: string, c: number, s: BlockShape, groups: number, heads: number, context: { name: string; len: number; dim: number }): string {
  const g = l.g;
  const len = s.height * s.width;
  const normed = l.groupNorm(`${name}.norm`, x, groups, [0, c, s.height, s.width]);
  let t = g.transpose(g.reshape(normed, [0, c, len]), [0, 2, 1]);
  t = g.add(t, attention(l, `${name}.self`, t, len, c, heads));
  t = g.add(t, attention(l, `${name}.cross`, t, len, c, heads, context));
  const back = g.reshape(g.transpose(t, [0, 2, 1]), [0, c, s.height, s.width]);
  return g.add(x, back);
}

/** Builds a block from its input: a residual block (name, x, in and out channels, spatial size). */
export type ResBlockFn = (name: string, x: string, cin: number, cout: number, size: number) => string;
/** Builds an attention block (name, x, channels, spatial size). */
export type AttentionBlockFn = (name: string, x: string, c: number, size: number) => string;

/**
 * The two-level trunk of the issue-2 UNet and of model-family's UNet, on an S×S input with c0
 * channels: res(c0); stride-2 conv; res(c0→c1) + attention; stride-2 conv; res(c1) + attention +
 * res(c1); 2× nearest up, concat skip, res(2c1→c1) + attention; 2× nearest up, concat skip,
 * res(c1+c0→c0). `res` and `attn` build the blocks with their time embedding and context bound.
 */
export function unetTrunk(l: Layers, x: string, [c0, c1]: [number, number], S: number, res: ResBlockFn, attn: AttentionBlockFn): string {
  const g = l.g;
  let h = x;
  const skip0 = (h = res('down0.res', h, c0, c0, S));
  h = l.conv('down0.downsample', h, c0, c0, 3, 2);
  h = res('down1.res', h, c0, c1, S / 2);
  const skip1 = (h = attn('down1.attn', h, c1, S / 2));
  h = l.conv('down1.downsample', h, c1, c1, 3, 2);
  h = res('mid.res1', h, c1, c1, S / 4);
  h = attn('mid.attn', h, c1, S / 4);
  h = res('mid.res2', h, c1, c1, S / 4);
  h = g.concat([g.resizeNearest(h, [1, 1, 2, 2]), skip1], 1);
  h = res('up1.res', h, 2 * c1, c1, S / 2);
  h = attn('up1.attn', h, c1, S / 2);
  h = g.concat([g.resizeNearest(h, [1, 1, 2, 2]), skip0], 1);
  h = res('up0.res', h, c1 + c0, c0, S);
  return h;
}
