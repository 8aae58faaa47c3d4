import { type GradContext, type GradRule } from '../grad-context.util';
import type { GraphNode } from '../../onnx/graph.model';

/** Rules for element-wise ops. Binary ops broadcast, so each input gradient is summed back to its shape. */

const outShape = (ctx: GradContext, node: GraphNode) => ctx.shape(node.outputs[0]);

const binary =
  (local: (ctx: GradContext, node: GraphNode, g: string, which: 0 | 1) => string): GradRule =>
  (ctx, node, [g], needs) => {
    if (!g) return [null, null];
    const shape = outShape(ctx, node);
    return [0, 1].map((i) => (needs[i] ? ctx.unbroadcast(local(ctx, node, g, i as 0 | 1), shape, node.inputs[i]) : null));
  };

export const elementwiseRules: Record<string, GradRule> = {
  // ∂(a+b) = (g, g)
  Add: binary((_c, _n, g) => g),
  // ∂(a−b) = (g, −g)
  Sub: binary((c, _n, g, i) => (i === 0 ? g : c.b.neg(g))),
  // ∂(a·b) = (g·b, g·a)
  Mul: binary((c, n, g, i) => c.b.mul(g, n.inputs[1 - i])),
  // ∂(a/b) = (g/b, −g·y/b)
  Div: binary((c, n, g, i) => (i === 0 ? c.b.div(g, n.inputs[1]) : c.b.neg(c.b.div(c.b.mul(g, n.outputs[0]), n.inputs[1])))),
  // ∂(xᵖ) = (g·p·xᵖ⁻¹, g·y·ln x)
  Pow: binary((c, n, g, i) => {
    const [x, p0] = n.inputs;
    const p = c.dtype(p0) === c.dtype(x) ? p0 : c.cast(p0, c.dtype(x));
    if (i === 0) return c.b.mul(g, c.b.mul(p, c.b.pow(x, c.b.sub(p, c.scalar(1, x)))));
    return c.b.mul(g, c.b.mul(n.outputs[0], c.b.log(x)));
  }),
  Sum: (ctx, node, [g], needs) => node.inputs.map((x, i) => (g && needs[i] ? ctx.unbroadcast(g, outShape(ctx, node), x) : null)),
  // Where(c, a, b): the gradient flows to whichever branch was selected.
  Where: (ctx, node, [g], needs) => {
    if (!g) return [null, null, null];
    const [cond, a, b] = node.inputs;
    const shape = outShape(ctx, node);
    const zero = ctx.scalar(0, node.outputs[0]);
    return [
      null,
      needs[1] ? ctx.unbroadcast(ctx.b.op('Where', [cond, g, zero]), shape, a) : null,
      needs[2] ? ctx.unbroadcast(ctx.b.op('Where', [cond, zero, g]), shape, b) : null,
    ];
  },
  Neg: (ctx, _n, [g]) => [g && ctx.b.neg(g)],
  Identity: (_c, _n, [g]) => [g],
  // Inference-mode Dropout is the identity on its first output.
  Dropout: (_c, _n, [g]) => [g, null, null],
  Cast: (ctx, node, [g]) => [g && ctx.isFloat(node.inputs[0]) ? ctx.cast(g, ctx.dtype(node.inputs[0])) : null],
  // ∂√x = g/(2y)
  Sqrt: (ctx, n, [g]) => [g && ctx.b.div(g, ctx.b.mul(n.outputs[0], ctx.scalar(2, n.outputs[0])))],
  // ∂eˣ = g·y
  Exp: (ctx, n, [g]) => [g && ctx.b.mul(g, n.outputs[0])],
  // ∂ln x = g/x
  Log: (ctx, n, [g]) => [g && ctx.b.div(g, n.inputs[0])],
  // ∂(1/x) = −g·y²
  Reciprocal: (ctx, n, [g]) => [g && ctx.b.neg(ctx.b.mul(g, ctx.b.mul(n.outputs[0], n.outputs[0])))],
  // ∂|x| = g·sign(x)
  Abs: (ctx, n, [g]) => [g && ctx.b.mul(g, ctx.b.op('Sign', [n.inputs[0]]))],
  // ∂σ(x) = g·y(1−y)
  Sigmoid: (ctx, n, [g]) => {
    if (!g) return [null];
    const y = n.outputs[0];
    return [ctx.b.mul(g, ctx.b.mul(y, ctx.b.sub(ctx.scalar(1, y), y)))];
  },
  // ∂tanh x = g(1−y²)
  Tanh: (ctx, n, [g]) => {
    if (!g) return [null];
    const y = n.outputs[0];
    return [ctx.b.mul(g, ctx.b.sub(ctx.scalar(1, y), ctx.b.mul(y, y)))];
  },
  // ∂relu x = g·[x>0]
  Relu: (ctx, n, [g]) => {
    if (!g) return [null];
    const x = n.inputs[0];
    return [ctx.b.op('Where', [ctx.b.op('Greater', [x, ctx.scalar(0, x)]), g, ctx.scalar(0, x)])];
  },
  LeakyRelu: (ctx, n, [g]) => {
    if (!g) return [null];
    const x = n.inputs[0];
    const alpha = n.attrs['alpha']?.type === 'float' ? (n.attrs['alpha'].value as number) : 0.01;
    return [ctx.b.op('Where', [ctx.b.op('Greater', [x, ctx.scalar(0, x)]), g, ctx.b.mul(g, ctx.scalar(alpha, x))])];
  },
  // ∂erf x = g·(2/√π)·e^(−x²)
  Erf: (ctx, n, [g]) => {
    if (!g) return [null];
    const x = n.inputs[0];
    return [ctx.b.mul(g, ctx.b.mul(ctx.scalar(2 / Math.sqrt(Math.PI), x), ctx.b.exp(ctx.b.neg(ctx.b.mul(x, x)))))];
  },
  // ai.onnx Gelu (opset 20), exact form: ∂[xΦ(x)] = g(Φ(x) + x·φ(x)).
  Gelu: (ctx, n, [g]) => {
    if (!g) return [null];
    const x = n.inputs[0];
    if (n.attrs['approximate']?.type === 'string' && n.attrs['approximate'].value !== 'none') {
      return [ctx.b.mul(g, tanhGeluDerivative(ctx, x))];
    }
    const b = ctx.b;
    const cdf = b.mul(ctx.scalar(0.5, x), b.add(ctx.scalar(1, x), b.erf(b.mul(x, ctx.scalar(Math.SQRT1_2, x)))));
    const pdf = b.mul(ctx.scalar(1 / Math.sqrt(2 * Math.PI), x), b.exp(b.mul(b.mul(x, x), ctx.scalar(-0.5, x))));
    return [b.mul(g, b.add(cdf, b.mul(x, pdf)))];
  },
  Clip: (ctx, n, [g], needs) => {
    if (!g || !needs[0]) return [null, null, null];
    const [x, lo, hi] = n.inputs;
    let mask = ctx.b.op('Not', [ctx.b.op('Or', [lo ? ctx.b.op('Less', [x, lo]) : ctx.b.op('IsNaN', [x]), hi ? ctx.b.op('Greater', [x, hi]) : ctx.b.op('IsNaN', [x])])]);
    mask = ctx.b.op('Where', [mask, g, ctx.scalar(0, x)]);
    return [mask, null, null];
  },
  Softplus: (ctx, n, [g]) => [g && ctx.b.mul(g, ctx.b.sigmoid(n.inputs[0]))],
};

// d/dx of 0.5·x·(1+tanh(√(2/π)(x+0.044715x³))).
function tanhGeluDerivative(ctx: GradContext, x: string): string {
  const b = ctx.b;
  const k = Math.sqrt(2 / Math.PI);
  const x2 = b.mul(x, x);
  const inner = b.mul(ctx.scalar(k, x), b.add(x, b.mul(ctx.scalar(0.044715, x), b.mul(x2, x))));
  const t = b.tanh(inner);
  const dinner = b.mul(ctx.scalar(k, x), b.add(ctx.scalar(1, x), b.mul(ctx.scalar(3 * 0.044715, x), x2)));
  const sech2 = b.sub(ctx.scalar(1, x), b.mul(t, t));
  return b.add(b.mul(ctx.scalar(0.5, x), b.add(ctx.scalar(1, x), t)), b.mul(b.mul(ctx.scalar(0.5, x), x), b.mul(sech2, dinner)));
}

