import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { onnx } from 'onnx-proto';
import { bytesOf, DTYPES, dtypeFromOnnx, typedArrayFromBytes, type TypedArray } from './dtype.util';
import {
  DEFAULT_IR_VERSION,
  type AttrValue,
  type Dim,
  type Graph,
  type GraphNode,
  type TensorData,
  type ValueInfo,
} from './graph.model';

type LongLike = number | { toNumber(): number };
const num = (v: LongLike | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

export interface EncodeOptions {
  /**
   * Store initializers of at least `threshold` bytes in a separate file named `location`
   * (ONNX external data: `location`/`offset`/`length` entries). Needed above protobuf's 2 GB limit.
   */
  externalData?: { location: string; threshold?: number };
}

export interface EncodedModel {
  model: Uint8Array;
  /** Contents of the external data file, when `externalData` was requested. */
  externalData?: Uint8Array;
}

// Offsets in the data file are kept 64-byte aligned so a runtime can map the tensors directly.
const EXTERNAL_ALIGN = 64;

export function tensorToProto(name: string, t: TensorData): onnx.ITensorProto {
  return { name, dataType: DTYPES[t.dtype].onnx, dims: t.dims, rawData: bytesOf(t.data) };
}

export function tensorFromProto(p: onnx.ITensorProto, readExternal?: (location: string) => Uint8Array): TensorData {
  const dtype = dtypeFromOnnx(p.dataType ?? 0);
  const dims = (p.dims ?? []).map(num);
  if (p.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const entries = Object.fromEntries((p.externalData ?? []).map((e) => [e.key, e.value]));
    if (!entries['location']) throw new Error(`Tensor ${p.name}: external data without a location`);
    if (!readExternal) throw new Error(`Tensor ${p.name} lives in ${entries['location']}: no external data reader given`);
    const file = readExternal(entries['location']);
    const offset = Number(entries['offset'] ?? 0);
    const length = entries['length'] !== undefined ? Number(entries['length']) : file.byteLength - offset;
    return { dtype, dims, data: typedArrayFromBytes(dtype, file.subarray(offset, offset + length)) };
  }
  if (p.rawData && p.rawData.byteLength > 0) return { dtype, dims, data: typedArrayFromBytes(dtype, p.rawData) };
  return { dtype, dims, data: typedFromFields(dtype, p) };
}

function typedFromFields(dtype: TensorData['dtype'], p: onnx.ITensorProto): TypedArray {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(p.floatData ?? []);
    case 'float64':
      return Float64Array.from(p.doubleData ?? []);
    case 'int64':
      return BigInt64Array.from((p.int64Data ?? []).map((v) => BigInt(num(v as LongLike))));
    case 'int32':
      return Int32Array.from(p.int32Data ?? []);
    case 'int8':
      return Int8Array.from(p.int32Data ?? []);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(p.int32Data ?? []);
    case 'float16':
      return Uint16Array.from(p.int32Data ?? []);
  }
}

function attrToProto(name: string, a: AttrValue): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      return { name, type: A.INT, i: a.value };
    case 'float':
      return { name, type: A.FLOAT, f: a.value };
    case 'string':
      return { name, type: A.STRING, s: Buffer.from(a.value, 'utf8') };
    case 'ints':
      return { name, type: A.INTS, ints: a.value };
    case 'floats':
      return { name, type: A.FLOATS, floats: a.value };
    case 'strings':
      return { name, type: A.STRINGS, strings: a.value.map((s) => Buffer.from(s, 'utf8')) };
    case 'tensor':
      return { name, type: A.TENSOR, t: tensorToProto('', a.value) };
    case 'raw':
      return onnx.AttributeProto.decode(a.value);
  }
}

function attrFromProto(p: onnx.IAttributeProto, readExternal?: (l: string) => Uint8Array): AttrValue {
  const A = onnx.AttributeProto.AttributeType;
  switch (p.type) {
    case A.INT:
      return { type: 'int', value: num(p.i as LongLike) };
    case A.FLOAT:
      return { type: 'float', value: p.f ?? 0 };
    case A.STRING:
      return { type: 'string', value: Buffer.from(p.s ?? []).toString('utf8') };
    case A.INTS:
      return { type: 'ints', value: (p.ints ?? []).map((v) => num(v as LongLike)) };
    case A.FLOATS:
      return { type: 'floats', value: [...(p.floats ?? [])] };
    case A.STRINGS:
      return { type: 'strings', value: (p.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) };
    case A.TENSOR:
      return { type: 'tensor', value: tensorFromProto(p.t ?? {}, readExternal) };
    default:
      return { type: 'raw', value: onnx.AttributeProto.encode(p).finish() };
  }
}

function valueInfoToProto(v: ValueInfo): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: DTYPES[v.dtype].onnx,
        shape: v.shape
          ? { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d })) }
          : undefined,
      },
    },
  };
}

function valueInfoFromProto(p: onnx.IValueInfoProto): ValueInfo {
  const tt = p.type?.tensorType;
  if (!tt) throw new Error(`Value ${p.name}: only tensor types are supported`);
  const shape: Dim[] | undefined = tt.shape
    ? (tt.shape.dim ?? []).map((d) => (d.dimValue != null && num(d.dimValue as LongLike) > 0 ? num(d.dimValue as LongLike) : d.dimParam || null))
    : undefined;
  return { name: p.name ?? '', dtype: dtypeFromOnnx(tt.elemType ?? 0), shape };
}

export function graphToProto(g: Graph, opts: EncodeOptions = {}): { model: onnx.ModelProto; externalData?: Uint8Array } {
  const external = opts.externalData;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const initializer = [...g.initializers].map(([name, t]) => {
    const proto = tensorToProto(name, t);
    if (!external || t.data.byteLength < (external.threshold ?? 1024)) return proto;
    const pad = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(bytesOf(t.data));
    const entry = { location: external.location, offset: String(offset), length: String(t.data.byteLength) };
    offset += t.data.byteLength;
    return {
      name,
      dataType: proto.dataType,
      dims: proto.dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: Object.entries(entry).map(([key, value]) => ({ key, value })),
    };
  });
  const model = onnx.ModelProto.create({
    irVersion: g.irVersion || DEFAULT_IR_VERSION,
    producerName: g.producer ?? '@vca/ml',
    opsetImport: Object.entries(g.opsets).map(([domain, version]) => ({ domain, version })),
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        domain: n.domain,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => attrToProto(k, a)),
      })),
      input: g.inputs.map(valueInfoToProto),
      output: g.outputs.map(valueInfoToProto),
      valueInfo: (g.valueInfo ?? []).map(valueInfoToProto),
      initializer,
    },
  });
  return { model, externalData: external ? Buffer.concat(chunks) : undefined };
}

export function encodeModel(g: Graph, opts: EncodeOptions = {}): EncodedModel {
  const { model, externalData } = graphToProto(g, opts);
  return { model: onnx.ModelProto.encode(model).finish(), externalData };
}

/** Decodes ONNX bytes; `readExternal(location)` supplies external data files. */
export function decodeModel(bytes: Uint8Array, readExternal?: (location: string) => Uint8Array): Graph {
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph;
  if (!g) throw new Error('ONNX model has no graph');
  const initializers = new Map<string, TensorData>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorFromProto(t, readExternal));
  const nodes: GraphNode[] = (g.node ?? []).map((n, i) => ({
    name: n.name || `${n.opType}_${i}`,
    op: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', attrFromProto(a, readExternal)])),
  }));
  return {
    name: g.name ?? 'graph',
    nodes,
    // Older exporters list initializers among the inputs; they are not run-time inputs for us.
    inputs: (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(valueInfoFromProto),
    outputs: (g.output ?? []).map(valueInfoFromProto),
    initializers,
    opsets: Object.fromEntries((m.opsetImport ?? []).map((o) => [o.domain ?? '', num(o.version as LongLike)])),
    irVersion: num(m.irVersion as LongLike),
    producer: m.producerName ?? undefined,
  };
}

/** Writes `path`, plus `<name>_data` next to it when the model has external data. */
export function saveModel(path: string, g: Graph, opts: { externalData?: boolean; threshold?: number } = {}): void {
  const location = `${basename(path)}_data`;
  const enc = encodeModel(g, opts.externalData ? { externalData: { location, threshold: opts.threshold } } : {});
  writeFileSync(path, enc.model);
  if (enc.externalData) writeFileSync(join(dirname(path), location), enc.externalData);
}

export function loadModel(path: string): Graph {
  const dir = dirname(path);
  const cache = new Map<string, Uint8Array>();
  return decodeModel(readFileSync(path), (location) => {
    if (location.includes('..')) throw new Error(`External data location ${location} leaves the model folder`);
    let file = cache.get(location);
    if (!file) cache.set(location, (file = readFileSync(join(dir, location))));
    return file;
  });
}
