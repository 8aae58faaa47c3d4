import { onnx } from 'onnx-proto';
import { externalLocationsOf } from '../model/rewritten-model.util';

/** A UNet projection that takes LoRA matrices as run-time inputs. */
export interface LoraTarget {
  /** diffusers module path, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q`. */
  path: string;
  /** Run-time inputs: D = Σ sᵢ·(αᵢ/rᵢ)·Aᵢᵀ [in, R] and U = [B₁ᵀ; B₂ᵀ; …] [R, out]. */
  downInput: string;
  upInput: string;
  inDim: number;
  outDim: number;
  /** Element type of the projection's weight, and so of D and U. */
  dtype: 'float32' | 'float16';
}

/**
 * Attention projections as torch.onnx names their MatMul nodes in diffusers UNet exports:
 * `/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul`.
 */
const TARGET_NODE = /^\/?(.+\/attn\d\/(?:to_q|to_k|to_v|to_out\.0))\/MatMul$/;
/**
 * Graphs that keep module names on their weights instead (exports without anonymised
 * initializers, and `@vca/ml`'s own UNet: `down1.attn.self.q.weight`).
 */
const TARGET_WEIGHT = /^(.+\.(?:attn\d\.(?:to_q|to_k|to_v|to_out\.0)|(?:self|cross)\.(?:q|k|v|out)))\.weight$/;

/** The module path a MatMul node projects with, when it is an attention projection. */
export function attentionProjectionPath(nodeName: string, weightName: string): string | null {
  const byNode = nodeName.match(TARGET_NODE);
  if (byNode) return byNode[1]!.split('/').join('.');
  return weightName.match(TARGET_WEIGHT)?.[1] ?? null;
}

type LongLike = number | { toNumber(): number };
const num = (v: LongLike | null | undefined) => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/**
 * Rewrites a UNet so each attention projection Y = X·W becomes Y = X·W + (X·D)·U with D and U
 * graph inputs (LoRA, Hu et al. 2021, eq. 3: h = W₀x + ΔWx, ΔW = B·A, here with W stored
 * transposed as exporters do). Rank is a symbolic dimension: rank 0 feeds mean "no LoRA",
 * several adapters are stacked along the rank axis, so one session serves every combination.
 *
 * Works on the ModelProto directly (not `@vca/ml`'s in-memory Graph) so that weights stored as
 * external data are never read: only node and input lists change, initializers stay as they were.
 */
export function addRuntimeLoraInputs(modelBytes: Uint8Array): { model: Uint8Array; targets: LoraTarget[]; externalLocations: string[] } {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph) throw new Error('ONNX model has no graph');
  const dims = new Map<string, number[]>();
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
  const weightType = new Map<string, number>();
  for (const init of graph.initializer ?? []) {
    dims.set(init.name ?? '', (init.dims ?? []).map((d) => num(d as LongLike)));
    weightType.set(init.name ?? '', init.dataType ?? 0);
  }
  const targets: LoraTarget[] = [];
  const nodes: onnx.INodeProto[] = [];
  for (const node of graph.node ?? []) {
    nodes.push(node);
    const w = node.input?.[1];
    const path = node.opType === 'MatMul' && w ? attentionProjectionPath(node.name ?? '', w) : null;
    const wDims = w ? dims.get(w) : undefined;
    const elemType = w ? weightType.get(w) : undefined;
    if (!path || !wDims || wDims.length !== 2 || (elemType !== FLOAT && elemType !== FLOAT16)) continue;
    const [inDim, outDim] = wDims as [number, number];
    const rank = `lora_rank_${targets.length}`;
    const target: LoraTarget = { path, downInput: `lora_down.${path}`, upInput: `lora_up.${path}`, inDim, outDim, dtype: elemType === FLOAT16 ? 'float16' : 'float32' };
    targets.push(target);
    graph.input!.push(valueInfo(target.downInput, [inDim, rank], elemType!), valueInfo(target.upInput, [rank, outDim], elemType!));
    const y = node.output![0]!;
    const base = `${y}/lora_base`;
    node.output![0] = base;
    const prefix = `/${path.split('.').join('/')}/lora`;
    nodes.push(
      { name: `${prefix}/MatMul_down`, opType: 'MatMul', input: [node.input![0]!, target.downInput], output: [`${y}/lora_d`] },
      { name: `${prefix}/MatMul_up`, opType: 'MatMul', input: [`${y}/lora_d`, target.upInput], output: [`${y}/lora_u`] },
      { name: `${prefix}/Add`, opType: 'Add', input: [base, `${y}/lora_u`], output: [y] },
    );
  }
  graph.node = nodes;
  return { model: onnx.ModelProto.encode(model).finish(), targets, externalLocations: externalLocationsOf(graph.initializer ?? []) };
}

function valueInfo(name: string, shape: (number | string)[], elemType: number): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
