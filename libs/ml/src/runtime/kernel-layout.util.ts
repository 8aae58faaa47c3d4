import type { Graph, GraphNode } from '../onnx/graph.model';
import { permutationIndex, type LayoutStep } from '../onnx/permutation.util';

/**
 * Index maps for laying a convolution kernel out in ORT's NCHWc order with one GatherElements.
 *
 * A training graph computes some kernels from others by pure data movement — the input-gradient
 * convolution's kernel is the forward kernel with input and output channels swapped and both
 * spatial axes reversed (Transpose + Slice) — and the NCHWc pass then reorders each kernel into
 * blocks. On ORT's CPU EP every one of those steps is a slow element-wise copy (a 128×256×3×3
 * kernel: ~0.6 ms per Transpose, ~0.6 ms per reversing Slice at 2 threads), so the chain from a
 * tensor of known shape to the blocked kernel is folded here into a single index map, applied by
 * one GatherElements (about the cost of a plain copy).
 */


export interface KernelChain {
  /** The tensor the kernel is gathered from (the chain's start). */
  source: string;
  sourceShape: number[];
  /** Steps applied to `source`, in order, to produce the kernel. */
  steps: LayoutStep[];
}

function intsOf(graph: Graph, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const t = graph.initializers.get(name);
  if (!t || (t.dtype !== 'int64' && t.dtype !== 'int32')) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** The indices an ONNX Slice with these parameters reads along an axis of length d. */
function sliceIndices(d: number, start: number, end: number, step: number): number[] {
  const norm = (v: number) => (v < 0 ? v + d : v);
  let s = norm(start);
  let e = norm(end);
  if (step > 0) {
    s = Math.min(Math.max(s, 0), d);
    e = Math.min(Math.max(e, 0), d);
  } else {
    s = Math.min(Math.max(s, 0), d - 1);
    e = Math.min(Math.max(e, -1), d - 1);
  }
  const out: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

/**
 * The step a node performs on a tensor of shape `shape`, or undefined when it is not a pure
 * permutation of its input: Identity, Transpose, and a Slice whose every sliced axis keeps all
 * its elements (in order or reversed).
 */
function stepOf(graph: Graph, node: GraphNode, shape: number[]): LayoutStep | 'identity' | undefined {
  if (node.domain !== '') return undefined;
  if (node.op === 'Identity') return 'identity';
  if (node.op === 'Transpose') {
    const a = node.attrs['perm'];
    const perm = a?.type === 'ints' ? a.value : shape.map((_, i) => shape.length - 1 - i);
    return perm.length === shape.length ? { op: 'transpose', perm } : undefined;
  }
  if (node.op === 'Slice') {
    const [, startsName, endsName, axesName, stepsName] = node.inputs;
    const starts = intsOf(graph, startsName);
    const ends = intsOf(graph, endsName);
    if (!starts || !ends) return undefined;
    const axes = axesName ? intsOf(graph, axesName) : starts.map((_, i) => i);
    const steps = stepsName ? intsOf(graph, stepsName) : starts.map(() => 1);
    if (!axes || !steps) return undefined;
    const reversed: number[] = [];
    for (let k = 0; k < axes.length; k++) {
      const axis = axes[k] < 0 ? axes[k] + shape.length : axes[k];
      const d = shape[axis];
      const idx = sliceIndices(d, starts[k], ends[k], steps[k]);
      if (idx.length !== d) return undefined;
      if (idx.every((v, j) => v === j)) continue;
      if (idx.every((v, j) => v === d - 1 - j)) reversed.push(axis);
      else return undefined;
    }
    return { op: 'reverse', axes: reversed };
  }
  return undefined;
}

/**
 * Walks back from `kernel` through pure permutation nodes to the furthest tensor whose shape is
 * known (`shapeOf`), and returns that chain; a kernel with no such ancestor is its own source.
 */
export function traceKernelChain(graph: Graph, kernel: string, shapeOf: (name: string) => number[] | undefined): KernelChain {
  const producer = new Map<string, GraphNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const path: GraphNode[] = [];
  let best: KernelChain = { source: kernel, sourceShape: shapeOf(kernel)!, steps: [] };
  let cur = kernel;
  for (let guard = 0; guard < 16; guard++) {
    const node = producer.get(cur);
    if (!node || !['Identity', 'Transpose', 'Slice'].includes(node.op) || node.domain !== '') break;
    path.unshift(node);
    cur = node.inputs[0];
    const shape = shapeOf(cur);
    if (!shape) continue;
    // Replay the path forward from the known shape: every node must be a permutation, and the
    // result must have the kernel's shape.
    const steps: LayoutStep[] = [];
    let s = shape;
    let ok = true;
    for (const n of path) {
      const step = stepOf(graph, n, s);
      if (!step) {
        ok = false;
        break;
      }
      if (step === 'identity') continue;
      steps.push(step);
      if (step.op === 'transpose') s = step.perm.map((p) => s[p]);
    }
    const kshape = shapeOf(kernel)!;
    if (ok && s.length === kshape.length && s.every((d, i) => d === kshape[i])) best = { source: cur, sourceShape: shape, steps };
  }
  return best;
}

/**
 * For each element of the NCHWc-ordered kernel ([O/B, I/B, kH, kW, Bi, Bo], or [O/B, I, kH, kW, Bo]
 * when `direct`: few input channels, NCHW input), the flat index in `chain.source` it comes from.
 * `paddedOut` (a multiple of B, ≥ O) pads the output channels: their taps read index
 * numel(source), where the caller appends a zero.
 */
export function blockedKernelIndex(chain: KernelChain, kernelShape: number[], block: number, direct: boolean, paddedOut = kernelShape[0]): Int32Array<ArrayBuffer> {
  const map = permutationIndex(chain.sourceShape, chain.steps);
  const [o, i, kh, kw] = kernelShape;
  const k = kh * kw;
  const zero = map.length;
  const at = (oc: number, ic: number, s: number) => (oc < o ? map[(oc * i + ic) * k + s] : zero);
  const out = new Int32Array(paddedOut * i * k);
  let p = 0;
  if (direct) {
    for (let ob = 0; ob < paddedOut / block; ob++)
      for (let ci = 0; ci < i; ci++)
        for (let s = 0; s < k; s++) for (let bo = 0; bo < block; bo++) out[p++] = at(ob * block + bo, ci, s);
  } else {
    for (let ob = 0; ob < paddedOut / block; ob++)
      for (let ib = 0; ib < i / block; ib++)
        for (let s = 0; s < k; s++)
          for (let bi = 0; bi < block; bi++) for (let bo = 0; bo < block; bo++) out[p++] = at(ob * block + bo, ib * block + bi, s);
  }
  return out;
}
