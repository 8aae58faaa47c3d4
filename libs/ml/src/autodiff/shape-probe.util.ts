import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { allocate, dtypeOfArrayName, numel, type DType, type TypedArray } from '../onnx/dtype.util';
import type { Graph } from '../onnx/graph.model';
import { graphToProto } from '../onnx/onnx-codec';

export interface TensorInfo {
  dims: number[];
  dtype: DType;
  /** Values of small integer tensors (shape arithmetic, slice bounds, axes). */
  value?: number[];
}

export type ShapeMap = Map<string, TensorInfo>;

const SMALL = 64;

function smallInts(dtype: DType, data: TypedArray | readonly unknown[]): number[] | undefined {
  if ((dtype !== 'int64' && dtype !== 'int32') || data.length > SMALL) return undefined;
  return Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * Learns the concrete shape and type of every tensor by running the graph once in ONNX Runtime
 * with all intermediate values as extra outputs. This works for any op ORT knows, which is what
 * lets autodiff handle imported graphs (shape arithmetic chains included) without our own shape
 * inference; the price is that gradient graphs are specialised to these input shapes.
 * `feeds` give example inputs; missing inputs are zeros of `inputShapes[name]` (or their fixed shape).
 */
export async function probeShapes(
  graph: Graph,
  opts: { feeds?: Record<string, ort.Tensor>; inputShapes?: Record<string, number[]> } = {},
): Promise<ShapeMap> {
  const info: ShapeMap = new Map();
  for (const [name, t] of graph.initializers) info.set(name, { dims: t.dims, dtype: t.dtype, value: smallInts(t.dtype, t.data) });
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of graph.inputs) {
    const given = opts.feeds?.[input.name];
    if (given) {
      feeds[input.name] = given;
      continue;
    }
    const dims = opts.inputShapes?.[input.name] ?? input.shape?.map((d) => {
      if (typeof d !== 'number') throw new Error(`Input ${input.name} has a symbolic dimension: give its shape in inputShapes or a feed`);
      return d;
    });
    if (!dims) throw new Error(`Input ${input.name} has unknown rank: give its shape in inputShapes or a feed`);
    feeds[input.name] = new ort.Tensor(input.dtype, allocate(input.dtype, numel(dims)) as never, dims);
  }
  const { model } = graphToProto(graph);
  const listed = new Set(graph.outputs.map((o) => o.name));
  for (const n of graph.nodes) for (const o of n.outputs) if (o && !listed.has(o)) (listed.add(o), model.graph!.output!.push({ name: o }));
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), { graphOptimizationLevel: 'disabled' });
  try {
    const out = await session.run(feeds);
    for (const [name, t] of Object.entries({ ...feeds, ...out })) {
      const dtype = dtypeOfArrayName(t.type);
      info.set(name, { dims: [...t.dims], dtype, value: smallInts(dtype, t.data as TypedArray) });
    }
  } finally {
    await session.release();
  }
  return info;
}
