import { z } from 'zod';
import { GraphBuilder } from '../onnx/graph.builder';
import { cloneGraph, type Graph, type TensorData } from '../onnx/graph.model';
import { Rng } from '../util/random.util';

/**
 * LoRA (Hu et al. 2021, eq. 3): h = W₀x + (α/r)·BAx. Weights here follow ONNX MatMul layout
 * (x·W, W [in, out]), so the branch is x·A·B with A [in, r], B [r, out]; for Gemm with transB=1
 * (PyTorch Linear exports, W [out, in]) the same branch is added to the Gemm output.
 */
export const loraOptionsSchema = z.object({
  /** Selects weights (initializer names) feeding MatMul or Gemm. */
  target: z.instanceof(RegExp),
  rank: z.number().int().positive(),
  alpha: z.number().positive(),
  /** 'initializer': A/B are trainable initializers. 'input': A/B and `lora.scale` are run-time graph inputs. */
  mode: z.enum(['initializer', 'input']).default('initializer'),
  seed: z.number().int().default(0),
});
export type LoraOptions = z.input<typeof loraOptionsSchema>;

export interface LoraAdapter {
  /** The base weight the branch belongs to. */
  weight: string;
  a: string;
  b: string;
  inDim: number;
  outDim: number;
  /** 'in_out' for MatMul (W [in, out]); 'out_in' for Gemm with transB=1 (W [out, in]). */
  layout: 'in_out' | 'out_in';
}

export interface LoraGraph {
  graph: Graph;
  adapters: LoraAdapter[];
  rank: number;
  alpha: number;
  /** Name of the run-time scale input in 'input' mode. */
  scaleInput?: string;
}

export const LORA_SCALE_INPUT = 'lora.scale';
export const loraNames = (weight: string) => ({ a: `${weight}.lora_A`, b: `${weight}.lora_B` });

/**
 * Inserts LoRA branches on every MatMul/Gemm whose weight matches `target`. A starts random
 * (N(0, 1/in)), B at zero, so the graph's output is unchanged until B is trained (the paper's
 * initialisation). Graph inputs' batch dims may stay symbolic.
 */
export function applyLora(base: Graph, options: LoraOptions): LoraGraph {
  const o = loraOptionsSchema.parse(options);
  const graph = cloneGraph(base);
  const b = new GraphBuilder(graph);
  const rng = new Rng(o.seed);
  const scale = o.alpha / o.rank;
  const scaleName = o.mode === 'input' ? b.input(LORA_SCALE_INPUT, 'float32', []) : b.scalar(scale);
  const adapters: LoraAdapter[] = [];
  const original = [...graph.nodes];
  const rewritten: typeof graph.nodes = [];
  for (const node of original) {
    rewritten.push(node);
    const isMatMul = node.op === 'MatMul';
    const isGemm = node.op === 'Gemm';
    if (!isMatMul && !isGemm) continue;
    const weight = node.inputs[1];
    const w = graph.initializers.get(weight);
    if (!w || !o.target.test(weight) || w.dims.length !== 2) continue;
    if (isGemm && (attr(node, 'transA') === 1)) throw new Error(`LoRA: Gemm node ${node.name} uses transA=1, which is not supported`);
    const layout = isGemm && attr(node, 'transB') === 1 ? 'out_in' : 'in_out';
    const [inDim, outDim] = layout === 'in_out' ? w.dims : [w.dims[1], w.dims[0]];
    const { a, b: bName } = loraNames(weight);
    if (o.mode === 'initializer') {
      b.initializer(a, rng.normalArray(inDim * o.rank, 1 / Math.sqrt(inDim)), [inDim, o.rank]);
      b.initializer(bName, new Float32Array(o.rank * outDim), [o.rank, outDim]);
    } else {
      b.input(a, 'float32', [inDim, 'lora_rank']);
      b.input(bName, 'float32', ['lora_rank', outDim]);
    }
    // Emit the branch after the base node: y' = y + s·(x·A)·B, s = (α/r)·(Gemm's α).
    const start = graph.nodes.length;
    const baseOut = node.outputs[0];
    const renamed = b.fresh(`${baseOut}.base`);
    node.outputs = [renamed, ...node.outputs.slice(1)];
    const gemmAlpha = isGemm ? attrFloat(node, 'alpha', 1) : 1;
    const s = gemmAlpha === 1 ? scaleName : b.mul(scaleName, b.scalar(gemmAlpha));
    const delta = b.mul(b.matmul(b.matmul(node.inputs[0], a), bName), s);
    b.op('Add', [renamed, delta], {}, baseOut);
    rewritten.push(...graph.nodes.slice(start));
    adapters.push({ weight, a, b: bName, inDim, outDim, layout });
  }
  graph.nodes = rewritten;
  if (adapters.length === 0) throw new Error(`LoRA: no MatMul/Gemm weight matches ${o.target}`);
  return { graph, adapters, rank: o.rank, alpha: o.alpha, scaleInput: o.mode === 'input' ? LORA_SCALE_INPUT : undefined };
}

function attr(node: { attrs: Record<string, { type: string; value: unknown }> }, name: string): number {
  const a = node.attrs[name];
  return a && a.type === 'int' ? (a.value as number) : 0;
}

function attrFloat(node: { attrs: Record<string, { type: string; value: unknown }> }, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a && a.type === 'float' ? (a.value as number) : fallback;
}

/** ΔW = s·A·B laid out like the base weight. */
export function loraDelta(a: TensorData, b: TensorData, scale: number, layout: LoraAdapter['layout']): Float32Array {
  const [inDim, r] = a.dims;
  const outDim = b.dims[1];
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  const out = new Float32Array(inDim * outDim);
  for (let i = 0; i < inDim; i++) {
    for (let k = 0; k < r; k++) {
      const aik = A[i * r + k] * scale;
      if (aik === 0) continue;
      for (let j = 0; j < outDim; j++) {
        const idx = layout === 'in_out' ? i * outDim + j : j * inDim + i;
        out[idx] += aik * B[k * outDim + j];
      }
    }
  }
  return out;
}
