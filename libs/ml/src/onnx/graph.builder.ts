import type { DType, TypedArray } from './dtype.util';
import {
  DEFAULT_IR_VERSION,
  DEFAULT_OPSET,
  type AttrValue,
  type Dim,
  type Graph,
  type GraphNode,
  type TensorData,
} from './graph.model';

/** Plain JS attribute values; integers become INT unless the attribute is a known float one. */
export type AttrInput = number | number[] | string | string[] | TensorData | AttrValue;

// ONNX attributes that are floats even when the value given happens to be whole (alpha: 1).
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'gamma', 'epsilon', 'momentum', 'bias', 'lambd', 'cubic_coeff_a', 'extrapolation_value', 'scale', 'value_float', 'value_floats', 'scales', 'spatial_scale', 'fmod_float']);

function isTensorData(v: unknown): v is TensorData {
  return typeof v === 'object' && v !== null && 'dims' in v && 'data' in v && 'dtype' in v;
}

export function toAttr(name: string, v: AttrInput): AttrValue {
  if (typeof v === 'number') {
    return Number.isInteger(v) && !FLOAT_ATTRS.has(name) ? { type: 'int', value: v } : { type: 'float', value: v };
  }
  if (typeof v === 'string') return { type: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return { type: 'strings', value: v as string[] };
    const nums = v as number[];
    return nums.every(Number.isInteger) && !FLOAT_ATTRS.has(name) ? { type: 'ints', value: nums } : { type: 'floats', value: nums };
  }
  if (isTensorData(v)) return { type: 'tensor', value: v };
  return v;
}

export function toAttrs(attrs: Record<string, AttrInput | undefined> = {}): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = toAttr(k, v);
  return out;
}

export interface NodeOptions {
  /** Output names, or how many fresh outputs to create (default 1). */
  outputs?: string[] | number;
  name?: string;
  domain?: string;
}

/**
 * Builds ONNX graphs in code. Every method that adds a node returns its output name(s), so
 * models read like the math: `const h = g.relu(g.add(g.matmul(x, w), b))`.
 * Starts empty, or from an existing graph to extend it (`new GraphBuilder(graph)`).
 */
export class GraphBuilder {
  readonly graph: Graph;
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(nameOrGraph: string | Graph = 'graph', opset = DEFAULT_OPSET) {
    this.graph =
      typeof nameOrGraph === 'string'
        ? { name: nameOrGraph, nodes: [], inputs: [], outputs: [], initializers: new Map(), opsets: { '': opset }, irVersion: DEFAULT_IR_VERSION }
        : nameOrGraph;
    for (const v of [...this.graph.inputs, ...this.graph.outputs]) this.used.add(v.name);
    for (const k of this.graph.initializers.keys()) this.used.add(k);
    for (const n of this.graph.nodes) {
      this.used.add(n.name);
      n.outputs.forEach((o) => this.used.add(o));
    }
  }

  /** A name not used yet in this graph, derived from `prefix`. */
  fresh(prefix: string): string {
    let name = prefix;
    while (this.used.has(name)) name = `${prefix}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.used.add(name);
    this.graph.inputs.push({ name, dtype, shape });
    return name;
  }

  output(name: string, dtype: DType = 'float32', shape?: Dim[]): string {
    this.graph.outputs.push({ name, dtype, shape });
    return name;
  }

  /** Adds a named initializer (a weight); numbers arrays become float32 unless `dtype` says otherwise. */
  initializer(name: string, data: TypedArray | number[], dims: number[], dtype?: DType): string {
    const t = toTensor(data, dims, dtype);
    this.used.add(name);
    this.graph.initializers.set(name, t);
    return name;
  }

  /** An anonymous constant tensor (stored as an initializer). */
  constant(data: TypedArray | number[], dims: number[], dtype?: DType, prefix = 'const'): string {
    return this.initializer(this.fresh(prefix), data, dims, dtype);
  }

  scalar(value: number, dtype: DType = 'float32'): string {
    return this.constant([value], [], dtype, 'scalar');
  }

  ints(values: number[]): string {
    return this.constant(BigInt64Array.from(values.map(BigInt)), [values.length], 'int64', 'ints');
  }

  /** Adds one node; returns all its output names. */
  node(op: string, inputs: string[], attrs: Record<string, AttrInput | undefined> = {}, opts: NodeOptions = {}): string[] {
    const outputs =
      typeof opts.outputs === 'object' ? opts.outputs : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(`${op}_out`));
    outputs.forEach((o) => this.used.add(o));
    const node: GraphNode = {
      name: opts.name ?? this.fresh(op),
      op,
      domain: opts.domain ?? '',
      inputs,
      outputs,
      attrs: toAttrs(attrs),
    };
    this.graph.nodes.push(node);
    return outputs;
  }

  /** Adds a single-output node and returns that output. */
  op(op: string, inputs: string[], attrs: Record<string, AttrInput | undefined> = {}, name?: string): string {
    return this.node(op, inputs, attrs, name ? { outputs: [name] } : {})[0];
  }

  // Helpers for the common ops (opset 17 forms).
  add = (a: string, b: string) => this.op('Add', [a, b]);
  sub = (a: string, b: string) => this.op('Sub', [a, b]);
  mul = (a: string, b: string) => this.op('Mul', [a, b]);
  div = (a: string, b: string) => this.op('Div', [a, b]);
  matmul = (a: string, b: string) => this.op('MatMul', [a, b]);
  neg = (x: string) => this.op('Neg', [x]);
  relu = (x: string) => this.op('Relu', [x]);
  sigmoid = (x: string) => this.op('Sigmoid', [x]);
  tanh = (x: string) => this.op('Tanh', [x]);
  exp = (x: string) => this.op('Exp', [x]);
  log = (x: string) => this.op('Log', [x]);
  sqrt = (x: string) => this.op('Sqrt', [x]);
  erf = (x: string) => this.op('Erf', [x]);
  pow = (x: string, y: string) => this.op('Pow', [x, y]);
  identity = (x: string) => this.op('Identity', [x]);
  /** x·σ(x), the SiLU/swish activation. */
  silu = (x: string) => this.mul(x, this.sigmoid(x));
  /** Exact GELU: x·½(1 + erf(x/√2)). */
  gelu = (x: string) => this.mul(this.mul(x, this.scalar(0.5)), this.add(this.erf(this.mul(x, this.scalar(Math.SQRT1_2))), this.scalar(1)));
  gemm = (a: string, b: string, c?: string, attrs: { alpha?: number; beta?: number; transA?: number; transB?: number } = {}) =>
    this.op('Gemm', c ? [a, b, c] : [a, b], attrs);
  softmax = (x: string, axis = -1) => this.op('Softmax', [x], { axis });
  transpose = (x: string, perm: number[]) => this.op('Transpose', [x], { perm });
  reshape = (x: string, shape: number[]) => this.op('Reshape', [x, this.ints(shape)]);
  flatten = (x: string, axis = 1) => this.op('Flatten', [x], { axis });
  concat = (xs: string[], axis: number) => this.op('Concat', xs, { axis });
  unsqueeze = (x: string, axes: number[]) => this.op('Unsqueeze', [x, this.ints(axes)]);
  squeeze = (x: string, axes: number[]) => this.op('Squeeze', [x, this.ints(axes)]);
  cast = (x: string, to: DType) => this.op('Cast', [x], { to: CAST_CODES[to] });
  gather = (data: string, indices: string, axis = 0) => this.op('Gather', [data, indices], { axis });
  reduceSum = (x: string, axes: number[], keepdims = 1) => this.op('ReduceSum', [x, this.ints(axes)], { keepdims });
  reduceMean = (x: string, axes: number[], keepdims = 1) =>
    (this.graph.opsets[''] ?? DEFAULT_OPSET) >= 18
      ? this.op('ReduceMean', [x, this.ints(axes)], { keepdims })
      : this.op('ReduceMean', [x], { axes, keepdims });
  slice = (x: string, starts: number[], ends: number[], axes: number[], steps?: number[]) =>
    this.op('Slice', [x, this.ints(starts), this.ints(ends), this.ints(axes), ...(steps ? [this.ints(steps)] : [])]);
  conv = (x: string, w: string, b?: string, attrs: { strides?: number[]; pads?: number[]; dilations?: number[]; group?: number } = {}) =>
    this.op('Conv', b ? [x, w, b] : [x, w], attrs);
  layerNorm = (x: string, scale: string, bias?: string, axis = -1, epsilon = 1e-5) =>
    this.op('LayerNormalization', bias ? [x, scale, bias] : [x, scale], { axis, epsilon });
  instanceNorm = (x: string, scale: string, bias: string, epsilon = 1e-5) =>
    this.op('InstanceNormalization', [x, scale, bias], { epsilon });
  /** Nearest-neighbour resize by per-axis scales (e.g. [1, 1, 2, 2] for 2× up-sampling of NCHW). */
  resizeNearest = (x: string, scales: number[]) =>
    this.op('Resize', [x, '', this.constant(scales, [scales.length])], { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' });

  /**
   * GroupNorm as exporters write it: reshape to [N, G, -1], InstanceNormalization with unit
   * scale, reshape back, then the per-channel affine. `shape` is the NCHW input shape.
   */
  groupNorm(x: string, groups: number, shape: number[], gamma: string, beta: string, epsilon = 1e-5): string {
    const ones = this.constant(new Float32Array(groups).fill(1), [groups]);
    const zeros = this.constant(new Float32Array(groups), [groups]);
    const grouped = this.reshape(x, [0, groups, -1]);
    const normed = this.reshape(this.instanceNorm(grouped, ones, zeros, epsilon), [0, ...shape.slice(1)]);
    const c = shape[1];
    const bshape = [c, ...shape.slice(2).map(() => 1)];
    return this.add(this.mul(normed, this.reshape(gamma, bshape)), this.reshape(beta, bshape));
  }

  build(): Graph {
    return this.graph;
  }
}

export const CAST_CODES: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };

export function toTensor(data: TypedArray | number[], dims: number[], dtype?: DType): TensorData {
  if (!Array.isArray(data)) return { dtype: dtype ?? dtypeOfArray(data), dims, data };
  const d = dtype ?? 'float32';
  switch (d) {
    case 'float32':
      return { dtype: d, dims, data: Float32Array.from(data) };
    case 'float64':
      return { dtype: d, dims, data: Float64Array.from(data) };
    case 'int64':
      return { dtype: d, dims, data: BigInt64Array.from(data.map((v) => BigInt(v))) };
    case 'int32':
      return { dtype: d, dims, data: Int32Array.from(data) };
    default:
      throw new Error(`toTensor: give a typed array for dtype ${d}`);
  }
}

export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint16Array) return 'float16';
  return 'uint8';
}
