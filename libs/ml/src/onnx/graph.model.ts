import type { DType, TypedArray } from './dtype.util';

/** A tensor with its data in memory (initializers, constants, safetensors entries). */
export interface TensorData {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

/** A dimension: a fixed size, a symbolic name (e.g. 'batch'), or unknown (null). */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** Absent when the rank is unknown. */
  shape?: Dim[];
}

/**
 * Attribute values, tagged because ONNX distinguishes int from float and a JS number cannot.
 * Subgraph attributes (If/Loop bodies) are kept as their raw encoded bytes so imported models
 * round-trip unchanged even though no pass of ours looks inside them.
 */
export type AttrValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: TensorData }
  | { type: 'raw'; value: Uint8Array };

export interface GraphNode {
  name: string;
  op: string;
  /** '' is the default ONNX domain; 'com.microsoft' for ORT contrib ops. */
  domain: string;
  /** '' marks an omitted optional input, as in ONNX. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

/** The in-memory model every pass of this library reads and writes. */
export interface Graph {
  name: string;
  nodes: GraphNode[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, TensorData>;
  /** Opset per domain ('' = ai.onnx). */
  opsets: Record<string, number>;
  irVersion: number;
  producer?: string;
  /**
   * Shapes of intermediate tensors (ONNX value_info) that passes of ours set as hints, e.g. the
   * gradient builder for convolution kernels it computes. Encoded into models; not read back
   * from imported files, whose value_info may go stale under our transforms.
   */
  valueInfo?: ValueInfo[];
}

export const DEFAULT_OPSET = 17;
/** IR version 8 is what opset 17 ships with, and the newest our onnx.proto (v1.10.2) knows. */
export const DEFAULT_IR_VERSION = 8;

export function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
    inputs: g.inputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] })),
    outputs: g.outputs.map((v) => ({ ...v, shape: v.shape && [...v.shape] })),
    initializers: new Map(g.initializers),
    opsets: { ...g.opsets },
    valueInfo: g.valueInfo?.map((v) => ({ ...v, shape: v.shape && [...v.shape] })),
  };
}
