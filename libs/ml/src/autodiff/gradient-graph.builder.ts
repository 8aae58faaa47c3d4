import type * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/graph.builder';
import { cloneGraph, type Graph, type GraphNode, type TensorData } from '../onnx/graph.model';
import { pruneGraph } from '../onnx/prune.util';
import { nchwcBlockSize } from '../runtime/nchwc-conv.transform';
import { GradContext, UnsupportedGradientError, type GradRule } from './grad-context.util';
import { elementwiseRules } from './rules/elementwise.rules';
import { findGroupNorms, groupNormBackward } from './rules/group-norm.fused';
import { linearRules } from './rules/linear.rules';
import { normalizationRules } from './rules/normalization.rules';
import { shapeRules } from './rules/shape.rules';
import { probeShapes, type ShapeMap } from './shape-probe.util';

export const GRADIENT_RULES: Record<string, GradRule> = { ...elementwiseRules, ...linearRules, ...shapeRules, ...normalizationRules };

export interface GradientGraphOptions {
  /** Name of the scalar loss tensor. */
  loss: string;
  /** Trainable tensors: initializers or graph inputs. Everything else is frozen. */
  wrt: string[];
  /** Example inputs for the shape probe; inputs not given are zeros of `inputShapes[name]`. */
  feeds?: Record<string, ort.Tensor>;
  inputShapes?: Record<string, number[]>;
  /** Turn trainable initializers into graph inputs so each step can feed updated weights (default true). */
  trainableAsInputs?: boolean;
  /** Forward tensors to keep as extra outputs (e.g. predictions for logging). */
  keepOutputs?: string[];
  /**
   * ORT's NCHWc block size to tune convolution gradients for; default: this machine's (0 where
   * ORT has no NCHWc kernels). Only speed depends on it, never the values.
   */
  nchwcBlock?: number;
}

export interface GradientGraph {
  /** Outputs: loss, then one gradient per trainable tensor, then `keepOutputs`. */
  graph: Graph;
  loss: string;
  /** Trainable tensor name → its gradient output name. */
  gradients: Record<string, string>;
  /** Initial values of trainable initializers that became inputs. */
  initialValues: Map<string, TensorData>;
  shapes: ShapeMap;
}

/** Mul(x, Sigmoid(x)) pairs whose sigmoid output feeds nothing else: differentiated as one SiLU. */
function findSilu(nodes: GraphNode[]): Map<GraphNode, { x: string; s: string }> {
  const producer = new Map<string, GraphNode>();
  const uses = new Map<string, number>();
  for (const n of nodes) {
    n.outputs.forEach((o) => producer.set(o, n));
    n.inputs.forEach((i) => uses.set(i, (uses.get(i) ?? 0) + 1));
  }
  const found = new Map<GraphNode, { x: string; s: string }>();
  for (const n of nodes) {
    if (n.op !== 'Mul' || n.domain !== '') continue;
    for (const [xi, si] of [[0, 1], [1, 0]]) {
      const sig = producer.get(n.inputs[si]);
      if (sig?.op === 'Sigmoid' && sig.inputs[0] === n.inputs[xi] && uses.get(n.inputs[si]) === 1) {
        found.set(n, { x: n.inputs[xi], s: n.inputs[si] });
        break;
      }
    }
  }
  return found;
}

export const gradientName = (name: string) => `${name}__grad`;

/**
 * Reverse-mode differentiation of an ONNX graph. Walks the nodes in reverse topological order
 * from the loss, applying each op's gradient rule, and sums gradients of tensors used more than
 * once. Only float edges from a trainable tensor to the loss are differentiated; integer shape
 * arithmetic and frozen branches get no backward nodes.
 */
export async function buildGradientGraph(forward: Graph, opts: GradientGraphOptions): Promise<GradientGraph> {
  const opset = forward.opsets[''] ?? 0;
  if (opset < 13) throw new Error(`autodiff needs ai.onnx opset ≥ 13 (graph has ${opset}); convert the model first`);
  const shapes = await probeShapes(forward, { feeds: opts.feeds, inputShapes: opts.inputShapes });
  const graph = cloneGraph(forward);
  // Opset 17 brings LayerNormalization and ScatterND(reduction=add); 13 → 17 changed none of the ops we emit.
  if (opset < 17) graph.opsets[''] = 17;
  const b = new GraphBuilder(graph);
  const frozen = new Map([...forward.initializers].filter(([k]) => !opts.wrt.includes(k)));
  const ctx = new GradContext(b, shapes, frozen, opts.nchwcBlock ?? (await nchwcBlockSize()));

  const inputNames = new Set(graph.inputs.map((i) => i.name));
  for (const w of opts.wrt) {
    if (!graph.initializers.has(w) && !inputNames.has(w)) throw new Error(`Trainable tensor "${w}" is neither an initializer nor a graph input`);
    if (!ctx.isFloat(w)) throw new Error(`Trainable tensor "${w}" is not floating point`);
  }
  if (!shapes.has(opts.loss)) throw new Error(`Loss tensor "${opts.loss}" is not produced by the graph`);
  if (shapes.get(opts.loss)!.dims.reduce((a, d) => a * d, 1) !== 1) throw new Error(`Loss "${opts.loss}" must be a scalar`);

  // Forward pass: which float tensors depend on a trainable tensor.
  const reach = new Set(opts.wrt);
  for (const n of graph.nodes) {
    if (n.inputs.some((i) => reach.has(i))) for (const o of n.outputs) if (o && ctx.isFloat(o)) reach.add(o);
  }
  if (!reach.has(opts.loss)) throw new Error(`Loss "${opts.loss}" does not depend on any trainable tensor`);

  // Backward pass.
  const pending = new Map<string, string[]>();
  const add = (name: string, g: string) => pending.set(name, [...(pending.get(name) ?? []), g]);
  const take = (name: string): string | null => {
    const gs = pending.get(name);
    if (!gs?.length) return null;
    const total = gs.length === 1 ? gs[0] : b.op('Sum', gs);
    pending.set(name, [total]);
    return total;
  };
  add(opts.loss, b.op('ConstantOfShape', [b.ints(shapes.get(opts.loss)!.dims)], {
    value: { type: 'tensor', value: { dtype: ctx.dtype(opts.loss), dims: [1], data: ctx.dtype(opts.loss) === 'float64' ? Float64Array.of(1) : Float32Array.of(1) } },
  }));
  const forwardNodes = [...graph.nodes];
  const silu = findSilu(forwardNodes);
  const groupNorms = findGroupNorms(forwardNodes, (t, v) => ctx.isConstantFill(t, v), (t) => shapes.get(t)?.dims);
  for (let i = forwardNodes.length - 1; i >= 0; i--) {
    const node = forwardNodes[i];
    if (!node.outputs.some((o) => reach.has(o))) continue;
    const gOut = node.outputs.map((o) => (reach.has(o) ? take(o) : null));
    if (gOut.every((g) => g === null)) continue;
    const fused = silu.get(node);
    if (fused && gOut[0]) {
      // SiLU y = x·σ(x): ∂x = g·(σ + y·(1 − σ)), four passes instead of six through Mul and Sigmoid.
      const { x, s } = fused;
      add(x, b.mul(gOut[0], b.add(s, b.mul(node.outputs[0], b.sub(ctx.scalar(1, s), s)))));
      continue;
    }
    const gn = groupNorms.get(node);
    if (gn && gOut[0]) {
      // GroupNorm's affine Mul, Reshape, InstanceNormalization and Reshape as one unit (rules/group-norm.fused.ts).
      const { gx, gGamma } = groupNormBackward(ctx, gn, gOut[0], reach.has(gn.x), reach.has(gn.gamma));
      if (gx) add(gn.x, gx);
      if (gGamma) add(gn.gamma, gGamma);
      continue;
    }
    const rule = node.domain === '' || node.domain === 'ai.onnx' ? GRADIENT_RULES[node.op] : undefined;
    if (!rule) throw new UnsupportedGradientError(node);
    const needs = node.inputs.map((x) => x !== '' && reach.has(x));
    const gIn = rule(ctx, node, gOut, needs);
    gIn.forEach((g, k) => {
      if (g && needs[k]) add(node.inputs[k], g);
    });
  }

  const gradients: Record<string, string> = {};
  const outputs = [{ name: opts.loss, dtype: ctx.dtype(opts.loss), shape: shapes.get(opts.loss)!.dims }];
  for (const w of opts.wrt) {
    const g = take(w) ?? ctx.zerosLike(w);
    const name = b.op('Identity', [g], {}, b.fresh(gradientName(w)));
    gradients[w] = name;
    outputs.push({ name, dtype: ctx.dtype(w), shape: ctx.shape(w) });
  }
  for (const k of opts.keepOutputs ?? []) outputs.push({ name: k, dtype: ctx.dtype(k), shape: ctx.shape(k) });
  graph.outputs = outputs;
  if (ctx.declared.size) graph.valueInfo = [...(graph.valueInfo ?? []), ...[...ctx.declared].map(([name, { dims, dtype }]) => ({ name, dtype, shape: dims }))];

  const initialValues = new Map<string, TensorData>();
  if (opts.trainableAsInputs ?? true) {
    for (const w of opts.wrt) {
      const t = graph.initializers.get(w);
      if (!t) continue;
      initialValues.set(w, t);
      graph.initializers.delete(w);
      graph.inputs.push({ name: w, dtype: t.dtype, shape: t.dims });
    }
  }
  // Inputs keep their probed (concrete) shapes: the backward pass is specialised to them.
  graph.inputs = graph.inputs.map((v) => ({ ...v, shape: shapes.get(v.name)?.dims ?? v.shape }));
  return { graph: pruneGraph(graph), loss: opts.loss, gradients, initialValues, shapes };
}
