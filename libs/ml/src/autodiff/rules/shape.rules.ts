import { numel } from '../../onnx/dtype.util';
import { attrInt, attrInts, attrString, normAxis, UnsupportedGradientError, type GradRule } from '../grad-context.util';

/** Rules for ops that move data without arithmetic: their gradients route g back to where it came from. */

const reshapeBack: GradRule = (ctx, node, [g]) => [g && ctx.reshape(g, ctx.shape(node.inputs[0])), null];

export const shapeRules: Record<string, GradRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,

  Transpose: (ctx, node, [g]) => {
    if (!g) return [null];
    const rank = ctx.rank(node.inputs[0]);
    const perm = attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return [ctx.b.transpose(g, inverse)];
  },

  Expand: (ctx, node, [g]) => [g && ctx.unbroadcast(g, ctx.shape(node.outputs[0]), node.inputs[0]), null],

  Concat: (ctx, node, [g], needs) => {
    if (!g) return node.inputs.map(() => null);
    const axis = normAxis(attrInt(node, 'axis', 0), ctx.rank(node.outputs[0]));
    const sizes = node.inputs.map((x) => ctx.shape(x)[axis]);
    const parts = ctx.b.node('Split', [g, ctx.b.ints(sizes)], { axis }, { outputs: sizes.length });
    return parts.map((p, i) => (needs[i] ? p : null));
  },

  Split: (ctx, node, gOut) => {
    if (gOut.every((g) => !g)) return [null, null];
    const axis = normAxis(attrInt(node, 'axis', 0), ctx.rank(node.inputs[0]));
    const parts = node.outputs.map((o, i) => gOut[i] ?? ctx.zerosLike(o));
    return [ctx.b.concat(parts, axis), null];
  },

  // Slice with unit steps: the gradient is g zero-padded back to the input's extent.
  Slice: (ctx, node, [g]) => {
    if (!g) return [null];
    const [x, startsName, , axesName, stepsName] = node.inputs;
    const xs = ctx.shape(x);
    const ys = ctx.shape(node.outputs[0]);
    const starts = ctx.ints(startsName, node);
    const axes = axesName ? ctx.ints(axesName, node).map((a) => normAxis(a, xs.length)) : starts.map((_, i) => i);
    const steps = stepsName ? ctx.ints(stepsName, node) : starts.map(() => 1);
    if (steps.some((s) => s !== 1)) throw new UnsupportedGradientError(node, 'only unit steps are supported');
    const pads = new Array<number>(2 * xs.length).fill(0);
    axes.forEach((ax, i) => {
      const dim = xs[ax];
      const begin = Math.min(Math.max(starts[i] < 0 ? starts[i] + dim : starts[i], 0), dim);
      pads[ax] = begin;
      pads[ax + xs.length] = dim - begin - ys[ax];
    });
    return [ctx.b.op('Pad', [g, ctx.b.ints(pads)], { mode: 'constant' }), null, null, null, null];
  },

  // Gather(data, indices): rows of g are scatter-added back into a zero tensor shaped like data.
  Gather: (ctx, node, [g], needs) => {
    if (!g || !needs[0]) return [null, null];
    const [data, indices] = node.inputs;
    const ds = ctx.shape(data);
    const axis = normAxis(attrInt(node, 'axis', 0), ds.length);
    const is = ctx.shape(indices);
    const m = numel(is);
    const rest = [...ds.slice(0, axis), ...ds.slice(axis + 1)];
    let upd = g;
    if (axis !== 0) {
      // Bring the index dims of g to the front: [I..., data[:axis]..., data[axis+1:]...].
      const q = is.length;
      const rank = ds.length - 1 + q;
      const perm = [...Array.from({ length: q }, (_, i) => axis + i), ...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: rank - axis - q }, (_, i) => axis + q + i)];
      upd = ctx.b.transpose(g, perm);
    }
    const b = ctx.b;
    const idx = ctx.reshape(indices, [m, 1]);
    const zeros = b.op('ConstantOfShape', [b.ints([ds[axis], ...rest])], {
      value: { type: 'tensor', value: { dtype: ctx.dtype(data), dims: [1], data: ctx.dtype(data) === 'float64' ? new Float64Array(1) : new Float32Array(1) } },
    });
    let out = b.op('ScatterND', [zeros, ctx.cast(idx, 'int64'), ctx.reshape(upd, [m, ...rest])], { reduction: 'add' });
    if (axis !== 0) {
      const perm = [...Array.from({ length: axis }, (_, i) => i + 1), 0, ...Array.from({ length: ds.length - axis - 1 }, (_, i) => axis + 1 + i)];
      out = b.transpose(out, perm);
    }
    return [out, null];
  },

  // Pixel (un)shuffles are permutations: each one's gradient is the inverse permutation of g.
  // SpaceToDepth is undone exactly by DepthToSpace in DCR mode and vice versa; CRD (PyTorch's
  // PixelShuffle export) is undone by its own reshape–transpose–reshape in reverse.
  SpaceToDepth: (ctx, node, [g]) => [g && ctx.b.op('DepthToSpace', [g], { blocksize: attrInt(node, 'blocksize', 1), mode: 'DCR' })],

  DepthToSpace: (ctx, node, [g]) => {
    if (!g) return [null];
    const b = attrInt(node, 'blocksize', 1);
    if (attrString(node, 'mode', 'DCR') === 'DCR') return [ctx.b.op('SpaceToDepth', [g], { blocksize: b })];
    const [n, c, h, w] = ctx.shape(node.inputs[0]);
    const cOut = c / (b * b);
    // Forward (CRD): [n, cOut, b, b, h, w] → transpose [0, 1, 4, 2, 5, 3] → [n, cOut, h·b, w·b].
    const split = ctx.reshape(g, [n, cOut, h, b, w, b]);
    return [ctx.reshape(ctx.b.transpose(split, [0, 1, 3, 5, 2, 4]), [n, c, h, w])];
  },

  // Nearest up-sampling by whole factors: each input element was copied into a block, so its
  // gradient is the block's sum.
  Resize: (ctx, node, [g]) => {
    if (!g) return [null];
    const x = node.inputs[0];
    const mode = attrString(node, 'mode', 'nearest');
    const ctm = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
    const nearest = attrString(node, 'nearest_mode', 'round_prefer_floor');
    const blockwise =
      (ctm === 'asymmetric' && nearest === 'floor') ||
      ((ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') && nearest.startsWith('round'));
    const xs = ctx.shape(x);
    const ys = ctx.shape(node.outputs[0]);
    const factors = ys.map((d, i) => d / xs[i]);
    if (mode !== 'nearest' || !blockwise || factors.some((f) => !Number.isInteger(f) || f < 1)) {
      throw new UnsupportedGradientError(node, 'only nearest up-sampling by whole factors (asymmetric/floor or half_pixel/round) is supported');
    }
    const spatial = factors.slice(2);
    if (xs.length >= 3 && factors[0] === 1 && factors[1] === 1 && ctx.dtype(x) === 'float32') {
      // Spatial up-sampling of N, C, spatial…: the block sums are a stride-f average pool times
      // the block size; ORT's pooling kernel beat the reshape + two-stage ReduceSum ~4× (UNet).
      const pooled = ctx.b.op('AveragePool', [g], { kernel_shape: spatial, strides: spatial });
      return [ctx.b.mul(pooled, ctx.scalar(numel(spatial), x)), null, null, null];
    }
    const split = xs.flatMap((d, i) => [d, factors[i]]);
    return [ctx.sum(ctx.reshape(g, split), xs.map((_, i) => 2 * i + 1)), null, null, null];
  },
};
