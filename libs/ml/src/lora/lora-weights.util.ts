import * as ort from 'onnxruntime-node';
import type { Graph, TensorData } from '../onnx/graph.model';
import { loadSafetensors, saveSafetensors } from '../safetensors/safetensors.codec';
import { loraDelta, loraNames, LORA_SCALE_INPUT, type LoraAdapter, type LoraGraph } from './lora.transform';

/** A LoRA on its own: `<weight>.lora_A` [in, r] and `<weight>.lora_B` [r, out] tensors plus α and r. */
export interface LoraWeights {
  rank: number;
  alpha: number;
  tensors: Map<string, TensorData>;
}

/** Collects A/B from a LoRA graph's initializers or from trained weights (e.g. `trainer.weights()`). */
export function extractLora(lora: LoraGraph, source: Map<string, TensorData> = lora.graph.initializers): LoraWeights {
  const tensors = new Map<string, TensorData>();
  for (const ad of lora.adapters) {
    for (const name of [ad.a, ad.b]) {
      const t = source.get(name) ?? lora.graph.initializers.get(name);
      if (!t) throw new Error(`LoRA tensor ${name} not found`);
      tensors.set(name, t);
    }
  }
  return { rank: lora.rank, alpha: lora.alpha, tensors };
}

export function saveLora(path: string, lora: LoraWeights, metadata: Record<string, string> = {}): void {
  saveSafetensors(path, lora.tensors, { ...metadata, 'lora.rank': String(lora.rank), 'lora.alpha': String(lora.alpha) });
}

export function loadLora(path: string): LoraWeights {
  const f = loadSafetensors(path);
  const rank = Number(f.metadata['lora.rank']);
  const alpha = Number(f.metadata['lora.alpha']);
  if (!(rank > 0 && alpha > 0)) throw new Error(`${path}: missing lora.rank / lora.alpha metadata`);
  return { rank, alpha, tensors: f.tensors };
}

/** Feeds for a graph built with `mode: 'input'`: A, B and the α/r scale. */
export function loraFeeds(lora: LoraWeights, adapters: LoraAdapter[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = { [LORA_SCALE_INPUT]: new ort.Tensor('float32', Float32Array.of(lora.alpha / lora.rank), []) };
  for (const ad of adapters) {
    for (const name of [ad.a, ad.b]) {
      const t = lora.tensors.get(name);
      if (!t) throw new Error(`LoRA file has no ${name}`);
      feeds[name] = new ort.Tensor('float32', t.data as Float32Array, t.dims);
    }
  }
  return feeds;
}

/** Feeds that switch the LoRA branches of a 'input'-mode graph off (rank-1 zeros, scale 0). */
export function noLoraFeeds(adapters: LoraAdapter[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = { [LORA_SCALE_INPUT]: new ort.Tensor('float32', Float32Array.of(0), []) };
  for (const ad of adapters) {
    feeds[ad.a] = new ort.Tensor('float32', new Float32Array(ad.inDim), [ad.inDim, 1]);
    feeds[ad.b] = new ort.Tensor('float32', new Float32Array(ad.outDim), [1, ad.outDim]);
  }
  return feeds;
}

function layoutOf(graph: Graph, weight: string): LoraAdapter['layout'] {
  const node = graph.nodes.find((n) => (n.op === 'MatMul' || n.op === 'Gemm') && n.inputs[1] === weight);
  if (!node) throw new Error(`No MatMul/Gemm uses ${weight}`);
  const t = node.attrs['transB'];
  return node.op === 'Gemm' && t?.type === 'int' && t.value === 1 ? 'out_in' : 'in_out';
}

function apply(graph: Graph, lora: LoraWeights, sign: 1 | -1, strength: number): Graph {
  const initializers = new Map(graph.initializers);
  const scale = (sign * strength * lora.alpha) / lora.rank;
  for (const [name, a] of lora.tensors) {
    if (!name.endsWith('.lora_A')) continue;
    const weight = name.slice(0, -'.lora_A'.length);
    const b = lora.tensors.get(loraNames(weight).b);
    const w = initializers.get(weight);
    if (!b || !w) throw new Error(`Cannot merge LoRA into ${weight}: ${!b ? 'no B tensor' : 'no such weight in the graph'}`);
    const delta = loraDelta(a, b, scale, layoutOf(graph, weight));
    const merged = Float32Array.from(w.data as Float32Array);
    for (let i = 0; i < merged.length; i++) merged[i] += delta[i];
    initializers.set(weight, { ...w, data: merged });
  }
  return { ...graph, initializers };
}

/** W ← W + strength·(α/r)·A·B on a graph without LoRA branches. Returns a new graph. */
export function mergeLora(graph: Graph, lora: LoraWeights, strength = 1): Graph {
  return apply(graph, lora, 1, strength);
}

/** Inverse of mergeLora (exact up to float rounding). */
export function unmergeLora(graph: Graph, lora: LoraWeights, strength = 1): Graph {
  return apply(graph, lora, -1, strength);
}
