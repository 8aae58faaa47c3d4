import { z } from 'zod';
import { GraphBuilder } from '../onnx/graph.builder';
import { cloneGraph, type Graph, type TensorData } from '../onnx/graph.model';
import { Rng } from '../util/random.util';

/**
 * LoRA on 2-D convolutions, in the form of peft's `Conv2d` LoRA layer and LyCORIS' LoCon: the
 * down projection A is a convolution with the base layer's kernel, stride, padding and dilation
 * (C_in → r), the up projection B a 1×1 convolution (r → C_out), and
 *   y = Conv(x, W₀) + (α/r)·Conv₁ₓ₁(Conv(x, A), B)
 * which equals a convolution with W₀ + (α/r)·B·A (B·A reshaped to the kernel). A starts random,
 * B at zero, so the output is unchanged until B is trained (Hu et al. 2021).
 */
export const convLoraOptionsSchema = z.object({
  /** Selects convolution weights (initializer names). */
  target: z.instanceof(RegExp),
  rank: z.number().int().positive(),
  alpha: z.number().positive(),
  seed: z.number().int().default(0),
});
export type ConvLoraOptions = z.input<typeof convLoraOptionsSchema>;

export interface ConvLoraAdapter {
  weight: string;
  /** [r, C_in, kh, kw] */
  a: string;
  /** [C_out, r, 1, 1] */
  b: string;
}

export interface ConvLoraGraph {
  graph: Graph;
  adapters: ConvLoraAdapter[];
  rank: number;
  alpha: number;
}

export const convLoraNames = (weight: string) => ({ a: `${weight}.lora_A`, b: `${weight}.lora_B` });

export function applyConvLora(base: Graph, options: ConvLoraOptions): ConvLoraGraph {
  const o = convLoraOptionsSchema.parse(options);
  const graph = cloneGraph(base);
  const g = new GraphBuilder(graph);
  const rng = new Rng(o.seed);
  const scale = g.scalar(o.alpha / o.rank);
  const adapters: ConvLoraAdapter[] = [];
  const rewritten: typeof graph.nodes = [];
  for (const node of [...graph.nodes]) {
    rewritten.push(node);
    if (node.op !== 'Conv') continue;
    const weight = node.inputs[1]!;
    const w = graph.initializers.get(weight);
    if (!w || !o.target.test(weight) || w.dims.length !== 4) continue;
    const group = node.attrs['group'];
    if (group && group.type === 'int' && group.value !== 1) throw new Error(`conv LoRA: ${node.name} is a grouped convolution`);
    const [cout, cin, kh, kw] = w.dims as [number, number, number, number];
    const { a, b } = convLoraNames(weight);
    g.initializer(a, rng.normalArray(o.rank * cin * kh * kw, 1 / Math.sqrt(cin * kh * kw)), [o.rank, cin, kh, kw]);
    g.initializer(b, new Float32Array(cout * o.rank), [cout, o.rank, 1, 1]);
    const start = graph.nodes.length;
    const baseOut = node.outputs[0]!;
    const renamed = g.fresh(`${baseOut}.base`);
    node.outputs = [renamed, ...node.outputs.slice(1)];
    const { strides, pads, dilations } = node.attrs;
    const down = g.op('Conv', [node.inputs[0]!, a], { ...(strides && { strides: strides.value as number[] }), ...(pads && { pads: pads.value as number[] }), ...(dilations && { dilations: dilations.value as number[] }) });
    const up = g.op('Conv', [down, b]);
    g.op('Add', [renamed, g.mul(up, scale)], {}, baseOut);
    rewritten.push(...graph.nodes.slice(start));
    adapters.push({ weight, a, b });
  }
  graph.nodes = rewritten;
  if (adapters.length === 0) throw new Error(`conv LoRA: no Conv weight matches ${o.target}`);
  return { graph, adapters, rank: o.rank, alpha: o.alpha };
}

/** ΔW = (α/r)·B·A as a [C_out, C_in, kh, kw] kernel (for merging into the base weight). */
export function convLoraDelta(a: TensorData, b: TensorData, scale: number): Float32Array {
  const [r, cin, kh, kw] = a.dims as [number, number, number, number];
  const cout = b.dims[0]!;
  const k = cin * kh * kw;
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  const out = new Float32Array(cout * k);
  for (let o = 0; o < cout; o++) {
    for (let j = 0; j < r; j++) {
      const bj = B[o * r + j]! * scale;
      if (bj === 0) continue;
      for (let i = 0; i < k; i++) out[o * k + i] += bj * A[j * k + i]!;
    }
  }
  return out;
}
