import { numel, type DType } from '../onnx/dtype.util';
import { CAST_CODES, GraphBuilder } from '../onnx/graph.builder';
import type { GraphNode, TensorData } from '../onnx/graph.model';
import { permutationIndex } from '../onnx/permutation.util';
import type { ShapeMap, TensorInfo } from './shape-probe.util';

/** Raised for ops (or op configurations) that have no gradient rule; names the op and node. */
export class UnsupportedGradientError extends Error {
  constructor(node: GraphNode, detail = 'has no gradient rule') {
    super(`Cannot differentiate ${node.op} node "${node.name}": ${detail}`);
    this.name = 'UnsupportedGradientError';
  }
}

/**
 * What a gradient rule sees: the builder to emit backward nodes into, the forward tensors'
 * shapes/types, and small helpers. Every gradient it returns has its forward tensor's shape.
 */
export class GradContext {
  constructor(
    readonly b: GraphBuilder,
    private readonly info: ShapeMap,
    /** Frozen initializers, for rules that specialise on constant values. */
    private readonly constants: Map<string, TensorData> = new Map(),
    /**
     * ORT's NCHWc block size on the machine the graph is built for (0: none). Rules may pick
     * formulations that run fast as NCHWc convolutions (see runtime/nchwc-conv.transform.ts).
     */
    readonly nchwcBlock = 0,
  ) {}

  /** Shapes of backward tensors that rules declare for later passes (see Graph.valueInfo). */
  readonly declared = new Map<string, { dims: number[]; dtype: DType }>();

  /** Records the shape of a tensor a rule computed (the builder writes these as value_info). */
  declareShape(name: string, dims: number[], dtype: DType): string {
    this.declared.set(name, { dims, dtype });
    return name;
  }

  /** True when `name` is a frozen constant whose every element equals `value`. */
  isConstantFill(name: string, value: number): boolean {
    const t = this.constants.get(name);
    return !!t && (t.dtype === 'float32' || t.dtype === 'float64') && (t.data as Float32Array).every((v) => v === value);
  }

  private get(name: string): TensorInfo {
    const i = this.info.get(name);
    if (!i) throw new Error(`autodiff: no shape known for tensor "${name}"`);
    return i;
  }

  shape(name: string): number[] {
    return this.get(name).dims;
  }

  rank(name: string): number {
    return this.get(name).dims.length;
  }

  dtype(name: string): DType {
    return this.get(name).dtype;
  }

  /** Values of a small integer tensor known before run time (constants, shape arithmetic). */
  ints(name: string, node: GraphNode): number[] {
    const v = this.get(name).value;
    if (!v) throw new UnsupportedGradientError(node, `input "${name}" must be a small constant integer tensor`);
    return v;
  }

  isFloat(name: string): boolean {
    const d = this.info.get(name)?.dtype;
    return d === 'float32' || d === 'float64' || d === 'float16';
  }

  /** A scalar constant of `like`'s float type. */
  scalar(value: number, like: string): string {
    const dtype = this.dtype(like);
    return this.b.constant(dtype === 'float64' ? Float64Array.of(value) : Float32Array.of(value), [], dtype, 'c');
  }

  cast(x: string, to: DType): string {
    return this.b.op('Cast', [x], { to: CAST_CODES[to] });
  }

  /** Sums `g` (shaped like `gShape`) back down to `target`'s shape: the gradient of broadcasting. */
  unbroadcast(g: string, gShape: number[], target: string): string {
    const tShape = this.shape(target);
    if (tShape.length === gShape.length && tShape.every((d, i) => d === gShape[i])) return g;
    const lead = gShape.length - tShape.length;
    const axes: number[] = [];
    for (let i = 0; i < gShape.length; i++) {
      if (i < lead || (tShape[i - lead] === 1 && gShape[i] !== 1)) axes.push(i);
    }
    const summed = axes.length ? this.sum(g, axes, 1) : g;
    return this.reshape(summed, tShape);
  }

  reshape(x: string, dims: number[]): string {
    return this.b.op('Reshape', [x, this.b.ints(dims)]);
  }

  private readonly permutationIndices = new Map<string, string>();

  /**
   * Transpose of a weight-sized tensor `x` (read as `shape`, row-major) as one GatherElements by
   * a precomputed index, shared by same-shaped calls. ORT's CPU Transpose walks 4-D tensors
   * element by element ([3, 3, 128, 256] → [128, 256, 3, 3]: 0.9 ms at 2 threads, the gather
   * about a third of that), and its graph optimiser folds the 2-D transpose that MLAS would run
   * fast back into that 4-D one. Costs 4 bytes of index per element: not for activations.
   */
  permute(x: string, perm: number[], shape: number[]): string {
    const key = JSON.stringify([shape, perm]);
    let index = this.permutationIndices.get(key);
    if (!index) {
      index = this.b.constant(permutationIndex(shape, [{ op: 'transpose', perm }]), [numel(shape)], 'int32', 'permutation');
      this.permutationIndices.set(key, index);
    }
    return this.reshape(this.b.op('GatherElements', [this.reshape(x, [-1]), index], { axis: 0 }), perm.map((a) => shape[a]));
  }

  /** Sum over `axes`, dropping them unless keepdims. */
  /**
   * Sum over `axes`. Non-contiguous axes (e.g. [0, 2, 3] for a per-channel gradient of NCHW) are
   * reduced innermost run first: ORT's CPU ReduceSum is fast for a contiguous run of axes but took
   * ~10 ms on [32, 64, 8, 8] → [64] in one go; the staged form reads the big tensor once.
   */
  sum(x: string, axes: number[], keepdims = 0): string {
    const sorted = [...axes].sort((a, b) => a - b);
    const contiguous = sorted.every((a, i) => i === 0 || a === sorted[i - 1] + 1);
    if (contiguous) return this.b.reduceSum(x, sorted, keepdims);
    let start = sorted.length - 1;
    while (start > 0 && sorted[start - 1] === sorted[start] - 1) start--;
    const inner = this.b.reduceSum(x, sorted.slice(start), 1);
    return this.b.reduceSum(inner, sorted, keepdims);
  }

  /** Mean over `axes` (ReduceMean; the builder picks the opset's signature). */
  mean(x: string, axes: number[], keepdims = 1): string {
    return this.b.reduceMean(x, axes, keepdims);
  }

  zerosLike(name: string): string {
    const dtype = this.dtype(name);
    return this.b.op('ConstantOfShape', [this.b.ints(this.shape(name))], {
      value: { type: 'tensor', value: { dtype, dims: [1], data: dtype === 'float64' ? new Float64Array(1) : new Float32Array(1) } },
    });
  }
}

export function attrInt(node: GraphNode, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a && a.type === 'int' ? a.value : fallback;
}

export function attrFloat(node: GraphNode, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a && a.type === 'float' ? a.value : fallback;
}

export function attrInts(node: GraphNode, name: string): number[] | undefined {
  const a = node.attrs[name];
  return a && a.type === 'ints' ? a.value : undefined;
}

export function attrString(node: GraphNode, name: string, fallback: string): string {
  const a = node.attrs[name];
  return a && a.type === 'string' ? a.value : fallback;
}

export const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/**
 * A gradient rule: given the forward node and the gradients of its outputs (null where an output
 * does not reach the loss), returns gradients for its inputs (null where none is needed).
 * `needs[i]` says whether input i leads back to a trainable tensor.
 */
export type GradRule = (ctx: GradContext, node: GraphNode, gOut: (string | null)[], needs: boolean[]) => (string | null)[];
