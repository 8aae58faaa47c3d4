import { numel, type DType } from '../../onnx/dtype.util';
import type { GraphNode } from '../../onnx/graph.model';
import { attrFloat, attrInt, attrInts, attrString, UnsupportedGradientError, type GradContext, type GradRule } from '../grad-context.util';

/** Rules for MatMul, Gemm, Conv and ConvTranspose. ORT's CPU EP has no *Grad kernels, so backward passes are ordinary ops. */

const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];

const matmul: GradRule = (ctx, node, [g], needs) => {
  if (!g) return [null, null];
  const [a, b] = node.inputs;
  const sa = ctx.shape(a);
  const sb = ctx.shape(b);
  const B = ctx.b;
  // Common case: activations [..., K] times a weight [K, N]. The weight gradient is one
  // [K, M]·[M, N] GEMM over all rows instead of a batched MatMul followed by a reduction.
  if (sb.length === 2 && sa.length >= 2) {
    const [k, n] = sb;
    const m = numel(sa) / k;
    return [
      needs[0] ? B.matmul(g, B.transpose(b, [1, 0])) : null,
      needs[1] ? B.gemm(ctx.reshape(a, [m, k]), ctx.reshape(g, [m, n]), undefined, { transA: 1 }) : null,
    ];
  }
  // General batched case; 1-D operands are promoted to matrices as the MatMul spec says.
  const a2 = sa.length === 1 ? [1, sa[0]] : sa;
  const b2 = sb.length === 1 ? [sb[0], 1] : sb;
  const batch = ctx.shape(node.outputs[0]).slice(0, ctx.rank(node.outputs[0]) - (sa.length === 1 ? 0 : 1) - (sb.length === 1 ? 0 : 1));
  const y2 = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  const gy = ctx.reshape(g, y2);
  const A = sa.length === 1 ? ctx.reshape(a, a2) : a;
  const Bm = sb.length === 1 ? ctx.reshape(b, b2) : b;
  const out: (string | null)[] = [null, null];
  // float32 on ORT: FusedMatMul transposes operands inside the GEMM. With explicit Transposes, ORT
  // merged ours with the forward's head-splitting Transpose into one it cannot fuse and copies
  // ([32, 64, 4, 32] → [32, 4, 32, 64]: ~0.3 ms each, 2.6 ms per UNet step at 2 threads).
  const fused = ctx.dtype(a) === 'float32';
  if (fused) B.graph.opsets['com.microsoft'] = 1;
  const mm = (x: string, y: string, attrs: { transA?: number; transB?: number }) =>
    fused
      ? B.node('FusedMatMul', [x, y], attrs, { domain: 'com.microsoft' })[0]
      : B.matmul(attrs.transA ? B.transpose(x, swapLast(a2.length)) : x, attrs.transB ? B.transpose(y, swapLast(b2.length)) : y);
  if (needs[0]) {
    const ga = mm(gy, Bm, { transB: 1 });
    out[0] = sumTo(ctx, ga, [...batch, a2[a2.length - 2], a2[a2.length - 1]], a, a2);
  }
  if (needs[1]) {
    const gb = mm(A, gy, { transA: 1 });
    out[1] = sumTo(ctx, gb, [...batch, b2[b2.length - 2], b2[b2.length - 1]], b, b2);
  }
  return out;
};

// Sums a batched gradient down to the operand's (possibly promoted) shape, then to its real shape.
function sumTo(ctx: GradContext, g: string, gShape: number[], target: string, promoted: number[]): string {
  const lead = gShape.length - promoted.length;
  const axes = gShape.map((d, i) => i).filter((i) => i < lead || (promoted[i - lead] === 1 && gShape[i] !== 1));
  const summed = axes.length ? ctx.sum(g, axes, 1) : g;
  return ctx.reshape(summed, ctx.shape(target));
}

// Y = α·op(A)·op(B) + β·C
const gemm: GradRule = (ctx, node, [g], needs) => {
  if (!g) return [null, null, null];
  const [a, b, c] = node.inputs;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const tA = attrInt(node, 'transA', 0);
  const tB = attrInt(node, 'transB', 0);
  const B = ctx.b;
  const ga = !needs[0] ? null : tA ? B.gemm(b, g, undefined, { alpha, transA: tB, transB: 1 }) : B.gemm(g, b, undefined, { alpha, transB: tB ? 0 : 1 });
  const gb = !needs[1] ? null : tB ? B.gemm(g, a, undefined, { alpha, transA: 1, transB: tA }) : B.gemm(a, g, undefined, { alpha, transA: tA ? 0 : 1 });
  let gc: string | null = null;
  if (c && needs[2]) gc = ctx.unbroadcast(beta === 1 ? g : B.mul(g, ctx.scalar(beta, c)), ctx.shape(node.outputs[0]), c);
  return [ga, gb, gc];
};

interface ConvGeometry {
  strides: number[];
  pads: number[];
  kernel: number[];
}

function convGeometry(ctx: GradContext, node: GraphNode, x: string, w: string): ConvGeometry {
  const spatial = ctx.rank(x) - 2;
  const kernel = ctx.shape(w).slice(2);
  const strides = attrInts(node, 'strides') ?? Array(spatial).fill(1);
  const dil = attrInts(node, 'dilations') ?? Array(spatial).fill(1);
  if (dil.some((d) => d !== 1)) throw new UnsupportedGradientError(node, 'only dilation 1 is supported');
  if (attrInt(node, 'group', 1) !== 1) throw new UnsupportedGradientError(node, 'only group 1 is supported');
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  let pads = attrInts(node, 'pads') ?? Array(2 * spatial).fill(0);
  if (autoPad === 'VALID') pads = Array(2 * spatial).fill(0);
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const xs = ctx.shape(x).slice(2);
    pads = Array(2 * spatial).fill(0);
    xs.forEach((h, i) => {
      const total = Math.max(0, (Math.ceil(h / strides[i]) - 1) * strides[i] + kernel[i] - h);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + spatial] = total - pads[i];
    });
  }
  return { strides, pads, kernel };
}

/**
 * ∂L/∂W of a convolution, computed as another convolution: with batch and channel axes swapped,
 * x becomes [C_in, N, H, W] and the output gradient [C_out, N, Ho, Wo] acts as the kernel,
 * dilated by the forward stride. The result [C_in, C_out, k', k'] is cropped to k and swapped back.
 */
export function convWeightGrad(ctx: GradContext, x: string, xShape: number[], g: string, gShape: number[], geo: ConvGeometry, dtype: DType): string {
  const B = ctx.b;
  const spatial = xShape.length - 2;
  const swap = [1, 0, ...Array.from({ length: spatial }, (_, i) => i + 2)];
  // The kernel's shape is declared so the NCHWc pass (runtime/nchwc-conv.transform.ts) needs no probe run.
  const kernel = ctx.declareShape(B.transpose(g, swap), [gShape[1], gShape[0], ...gShape.slice(2)], dtype);
  const r = B.op('Conv', [B.transpose(x, swap), kernel], {
    pads: geo.pads,
    dilations: geo.strides,
    strides: Array(spatial).fill(1),
  });
  const full = xShape.slice(2).map((h, i) => h + geo.pads[i] + geo.pads[i + spatial] - geo.strides[i] * (gShape[i + 2] - 1));
  const cropped = full.some((d, i) => d !== geo.kernel[i])
    ? B.slice(r, Array(spatial).fill(0), geo.kernel, Array.from({ length: spatial }, (_, i) => i + 2))
    : r;
  return B.transpose(cropped, swap);
}

/**
 * ∂L/∂W of a 2-D convolution from GEMMs over channel-first layouts (x as [C_in, N, H, W],
 * g as [C_out, N, Ho, Wo]; one transpose each):
 *   ∂W[:, :, i, j] = G · X_ijᵀ,  X_ij = the (i, j)-shifted, strided window of the padded input.
 * Stride 1: the contraction runs over the real input columns only (padding columns are zeros and
 * contribute nothing), so x is padded in height alone; the K column offsets become K copies of g
 * shifted by j − pad_left within the input width, stacked along C_out, and each kernel row is one
 * slice of x and one GEMM with M = K·C_out. (Padding x's width as well cost the UNet's 16×16 and
 * 8×8 layers 12–25% more GEMM work.) Strided: one slice and one GEMM per offset.
 * Both avoid materialising the K²-times larger im2col matrix; on ORT's CPU EP they beat
 * im2col + batched MatMul, per-sample batched GEMMs on NCHW, and (except where
 * weightGradAsConv says otherwise) a convolution with g as the kernel.
 */
export function convWeightGradIm2col(ctx: GradContext, x: string, xs: number[], g: string, gs: number[], geo: ConvGeometry): string {
  const b = ctx.b;
  const [n, cin, h, w] = xs;
  const cout = gs[1];
  const [kh, kw] = geo.kernel;
  const [sh, sw] = geo.strides;
  const [ho, wo] = [gs[2], gs[3]];
  const [pt, pl, pb, pr] = geo.pads;
  const gt = b.transpose(g, [1, 0, 2, 3]);
  const xt = b.transpose(x, [1, 0, 2, 3]);
  if (kh * kw === 1 && sh === 1 && sw === 1 && pt + pl + pb + pr === 0) {
    return ctx.reshape(b.gemm(ctx.reshape(gt, [cout, n * ho * wo]), ctx.reshape(xt, [cin, n * ho * wo]), undefined, { transB: 1 }), [cout, cin, 1, 1]);
  }
  const blocks: string[] = [];
  if (sh === 1 && sw === 1) {
    // One Pad of x (measured: for whole-tensor padding ORT's Pad beats concatenating zero blocks).
    const padded = pt + pb > 0 ? b.op('Pad', [xt, b.ints([0, 0, pt, 0, 0, 0, pb, 0])], { mode: 'constant' }) : xt;
    // Column offset j reads input column c at output column c + pl − j: g shifted right by j − pl.
    // Zero columns are concatenated rather than padded: in the profile of the UNet step this
    // cut the time of these copies by about a third versus Pad nodes.
    const zeros = (cols: number) => b.constant(new Float32Array(cout * n * ho * cols), [cout, n, ho, cols]);
    const shifted = Array.from({ length: kw }, (_, j) => {
      const shift = j - pl;
      const from = Math.max(0, -shift);
      const to = Math.min(wo, w - shift);
      if (to <= from) return zeros(w);
      const left = Math.max(0, shift);
      const right = w - left - (to - from);
      const cols = from === 0 && to === wo ? gt : b.slice(gt, [from], [to], [3]);
      const parts = [...(left > 0 ? [zeros(left)] : []), cols, ...(right > 0 ? [zeros(right)] : [])];
      return parts.length === 1 ? parts[0] : b.concat(parts, 3);
    });
    const gStack = ctx.reshape(kw === 1 ? shifted[0] : b.concat(shifted, 0), [kw * cout, n * ho * w]);
    for (let i = 0; i < kh; i++) {
      // The row offset that reads exactly the input's rows needs no copy of it.
      const rows = i === pt && ho === h ? xt : i === 0 && ho === h + pt + pb ? padded : b.slice(padded, [i], [i + ho], [2]);
      blocks.push(b.gemm(gStack, ctx.reshape(rows, [cin, n * ho * w]), undefined, { transB: 1 })); // [(j, C_out), C_in]
    }
  } else {
    const padded = geo.pads.some((p) => p !== 0) ? b.op('Pad', [xt, b.ints([0, 0, pt, pl, 0, 0, pb, pr])], { mode: 'constant' }) : xt;
    const g2 = ctx.reshape(gt, [cout, n * ho * wo]);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const shift = b.slice(padded, [i, j], [i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1], [2, 3], [sh, sw]);
        blocks.push(b.gemm(g2, ctx.reshape(shift, [cin, n * ho * wo]), undefined, { transB: 1 }));
      }
    }
  }
  const stacked = blocks.length === 1 ? blocks[0] : b.concat(blocks, 0); // [(kh, kw, C_out), C_in]
  return ctx.permute(stacked, [2, 3, 0, 1], [kh, kw, cout, cin]);
}

/**
 * ∂L/∂x of a stride-1 2-D convolution as another forward convolution: of the output gradient
 * with the spatially flipped, channel-swapped kernel. ORT runs it through its fast forward Conv;
 * its ConvTranspose kernel is slower on CPU. Returns null when the geometry would need negative
 * padding (the caller then uses ConvTranspose).
 */
export function convInputGradFlipped(ctx: GradContext, w: string, xs: number[], g: string, gs: number[], geo: ConvGeometry): string | null {
  const b = ctx.b;
  const [kh, kw] = geo.kernel;
  const pl = [kh - 1 - geo.pads[0], kw - 1 - geo.pads[1]];
  const pr = [xs[2] - gs[2] - pl[0] + kh - 1, xs[3] - gs[3] - pl[1] + kw - 1];
  if ([...pl, ...pr].some((p) => p < 0)) return null;
  const flipped = kh * kw === 1 ? b.transpose(w, [1, 0, 2, 3]) : b.slice(b.transpose(w, [1, 0, 2, 3]), [-1, -1], [-kh - 1, -kw - 1], [2, 3], [-1, -1]);
  ctx.declareShape(flipped, [xs[1], gs[1], kh, kw], ctx.dtype(w));
  return b.op('Conv', [g, flipped], { pads: [pl[0], pl[1], pr[0], pr[1]], kernel_shape: geo.kernel });
}

/**
 * ∂L/∂x of a strided 2-D convolution (equal strides S ≥ 2) as one stride-1 convolution of g plus
 * DepthToSpace. Each output phase (u mod S, v mod S) of ∂x only meets a fixed subset of kernel
 * taps, so the S² phases are S²·C_in output channels of one convolution whose kernel holds the
 * matching taps of W (zeros elsewhere), interleaved back by DepthToSpace. It runs as an NCHWc
 * convolution; ORT's ConvTranspose (im2col GEMM + col2im) took 2.4–2.5 ms for the UNet's two
 * down-sampling layers at batch 32 (2 threads), five times their forward convolutions.
 * Returns null for geometries it does not cover (the caller then uses ConvTranspose).
 */
export function convInputGradPolyphase(ctx: GradContext, w: string, xs: number[], g: string, gs: number[], geo: ConvGeometry): string | null {
  const b = ctx.b;
  const S = geo.strides[0];
  if (xs.length !== 4 || geo.strides[1] !== S || S < 2 || ctx.dtype(w) !== 'float32') return null;
  const [cout, cin, kh, kw] = ctx.shape(w);
  // Per spatial axis: the offsets d = a − s (g row a, ∂x row u = S·s + r) that some tap p = r + P − S·d reaches.
  const axes = [0, 1].map((ax) => {
    const [K, P, size, gSize] = [geo.kernel[ax], geo.pads[ax], xs[ax + 2], gs[ax + 2]];
    let dmin = Infinity;
    let dmax = -Infinity;
    for (let r = 0; r < S; r++) {
      dmin = Math.min(dmin, Math.ceil((r + P - K + 1) / S));
      dmax = Math.max(dmax, Math.floor((r + P) / S));
    }
    const phases = Math.ceil(size / S);
    return { K, P, size, dmin, length: dmax - dmin + 1, padBegin: -dmin, padEnd: Math.max(0, phases + dmax - gSize) };
  });
  if (axes.some((a) => a.dmin > 0 || a.length < 1)) return null;
  const [ah, aw] = axes;
  // Kernel [(rh, rw, c_in), c_out, jh, jw] gathered from W with one zero appended for absent taps.
  const zero = cout * cin * kh * kw;
  const index = new Int32Array(S * S * cin * cout * ah.length * aw.length);
  let q = 0;
  for (let rh = 0; rh < S; rh++)
    for (let rw = 0; rw < S; rw++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          for (let jh = 0; jh < ah.length; jh++)
            for (let jw = 0; jw < aw.length; jw++) {
              const ph = rh + ah.P - S * (jh + ah.dmin);
              const pw = rw + aw.P - S * (jw + aw.dmin);
              index[q++] = ph >= 0 && ph < kh && pw >= 0 && pw < kw ? ((o * cin + i) * kh + ph) * kw + pw : zero;
            }
  const padded = b.concat([ctx.reshape(w, [-1]), b.constant(new Float32Array(1), [1])], 0);
  const dims = [S * S * cin, cout, ah.length, aw.length];
  const kernel = ctx.declareShape(ctx.reshape(b.op('GatherElements', [padded, b.constant(index, [index.length], 'int32', 'polyphase')], { axis: 0 }), dims), dims, 'float32');
  const phases = b.op('Conv', [g, kernel], { kernel_shape: [ah.length, aw.length], pads: [ah.padBegin, aw.padBegin, ah.padEnd, aw.padEnd] });
  const full = b.op('DepthToSpace', [phases], { blocksize: S, mode: 'DCR' });
  const outH = S * (gs[2] + ah.padBegin + ah.padEnd - ah.length + 1);
  const outW = S * (gs[3] + aw.padBegin + aw.padEnd - aw.length + 1);
  return outH === ah.size && outW === aw.size ? full : b.slice(full, [0, 0], [ah.size, aw.size], [2, 3]);
}

/**
 * Whether ∂W of a 2-D convolution is cheaper as a convolution (convWeightGrad) than as GEMMs
 * (convWeightGradIm2col). The convolution form has batch as its input channels and the output
 * gradient as its kernel; run as an NCHWc convolution (batch and C_out whole blocks) it wins,
 * per layer of the issue-2 UNet at batch 32 (1 thread, kernel times), where the GEMMs are short:
 * strided layers (16×16 s2: 2.3 vs 2.6 ms, 8×8 s2: 1.7 vs 2.6 ms), outputs of ≤ 4×4
 * (1.1 vs 1.7–3.0 ms) and few input channels (4 → 64: 1.0 vs 1.8 ms); the GEMMs win for 8×8 and
 * 16×16 stride-1 layers (4.9 vs 6.6, 4.6 vs 12.9 ms) and 1×1 kernels.
 */
function weightGradAsConv(ctx: GradContext, x: string, xs: number[], gs: number[], geo: ConvGeometry): boolean {
  const block = ctx.nchwcBlock;
  if (!block || ctx.dtype(x) !== 'float32' || geo.kernel.every((k) => k === 1)) return false;
  const [n, cin] = xs;
  const cout = gs[1];
  if (cout % block !== 0 || (n % block !== 0 && n >= block)) return false;
  return geo.strides.some((s) => s !== 1) || gs[2] * gs[3] <= 16 || cin < block;
}

const conv: GradRule = (ctx, node, [g], needs) => {
  if (!g) return [null, null, null];
  const [x, w, bias] = node.inputs;
  const geo = convGeometry(ctx, node, x, w);
  const xs = ctx.shape(x);
  const gs = ctx.shape(node.outputs[0]);
  const spatial = xs.length - 2;
  let gx: string | null = null;
  if (needs[0]) {
    // Strided convolutions: polyphase (one convolution + DepthToSpace), else ConvTranspose;
    // zero-interleaving g with Pad cost more than the whole transposed convolution.
    const strided = geo.strides.some((s) => s !== 1);
    gx = spatial === 2 ? (strided ? convInputGradPolyphase(ctx, w, xs, g, gs, geo) : convInputGradFlipped(ctx, w, xs, g, gs, geo)) : null;
    if (!gx) {
      // The adjoint of a strided convolution is the transposed convolution with the same kernel;
      // output_padding restores rows the forward stride skipped.
      const outputPadding = xs.slice(2).map((h, i) => h - ((gs[i + 2] - 1) * geo.strides[i] - geo.pads[i] - geo.pads[i + spatial] + geo.kernel[i]));
      gx = ctx.b.op('ConvTranspose', [g, w], { strides: geo.strides, pads: geo.pads, kernel_shape: geo.kernel, output_padding: outputPadding });
    }
  }
  const gw = !needs[1] ? null : spatial === 2 && !weightGradAsConv(ctx, x, xs, gs, geo) ? convWeightGradIm2col(ctx, x, xs, g, gs, geo) : convWeightGrad(ctx, x, xs, g, gs, geo, ctx.dtype(x));
  const gb = bias && needs[2] ? ctx.sum(g, [0, ...Array.from({ length: spatial }, (_, i) => i + 2)]) : null;
  return [gx, gw, gb];
};

// y = ConvTranspose(x, W) is the adjoint of x ↦ Conv(·, W): so ∂x = Conv(g, W), and ∂W is the
// weight gradient of the convolution that maps g to x.
const convTranspose: GradRule = (ctx, node, [g], needs) => {
  if (!g) return [null, null, null];
  const [x, w, bias] = node.inputs;
  if (attrInts(node, 'output_shape')) throw new UnsupportedGradientError(node, 'output_shape is not supported; use pads/output_padding');
  const y = node.outputs[0];
  const geo = convGeometry(ctx, node, y, w);
  const spatial = ctx.rank(x) - 2;
  const gx = needs[0] ? ctx.b.op('Conv', [g, w], { strides: geo.strides, pads: geo.pads, kernel_shape: geo.kernel }) : null;
  const gw = needs[1] ? convWeightGrad(ctx, g, ctx.shape(y), x, ctx.shape(x), geo, ctx.dtype(x)) : null;
  const gb = bias && needs[2] ? ctx.sum(g, [0, ...Array.from({ length: spatial }, (_, i) => i + 2)]) : null;
  return [gx, gw, gb];
};

export const linearRules: Record<string, GradRule> = { MatMul: matmul, Gemm: gemm, Conv: conv, ConvTranspose: convTranspose };
