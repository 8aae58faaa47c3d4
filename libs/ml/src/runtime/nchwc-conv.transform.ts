import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/graph.builder';
import { cloneGraph, type Graph, type GraphNode } from '../onnx/graph.model';
import { encodeModel } from '../onnx/onnx-codec';
import { pruneGraph } from '../onnx/prune.util';
import { blockedKernelIndex, traceKernelChain } from './kernel-layout.util';

/**
 * ORT's CPU EP runs convolutions fastest in its blocked NCHWc layout (channels in blocks of 8 or
 * 16 innermost), but its layout transformer only rewrites a Conv whose weight is a constant
 * initializer: it reorders the weight once at load time. In a training graph the weights are
 * inputs (and the input-gradient convolutions use computed, flipped kernels), so every Conv
 * there ran the slower NCHW im2col path. This pass does the rewrite itself for such convs:
 * the kernel is reordered in the graph (one GatherElements, see kernel-layout.util.ts), the
 * input goes through `ReorderInput`, and ORT's internal `com.microsoft.nchwc` Conv writes a
 * blocked output that `ReorderOutput` turns back into NCHW. CPU only: these ops exist only in
 * ORT's CPU EP (see createSession).
 */

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

let cachedBlockSize: Promise<number> | undefined;

/**
 * The NCHWc block size of this machine's ORT CPU kernels (16 with AVX-512, 8 with AVX2), or 0
 * where the layout is unsupported. Learnt once per process: ReorderInput pads 4 channels up to
 * one block.
 */
export function nchwcBlockSize(): Promise<number> {
  cachedBlockSize ??= (async () => {
    try {
      const g = new GraphBuilder('nchwc_probe');
      g.graph.opsets[NCHWC_DOMAIN] = 1;
      const x = g.input('x', 'float32', [1, 4, 1, 1]);
      g.node('ReorderInput', [x], {}, { domain: NCHWC_DOMAIN, outputs: ['y'] });
      g.output('y', 'float32');
      const session = await ort.InferenceSession.create(encodeModel(g.build()).model, { graphOptimizationLevel: 'disabled' });
      try {
        const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
        const block = out['y'].dims[1];
        return block >= 8 ? block : 0;
      } finally {
        await session.release();
      }
    } catch {
      return 0;
    }
  })();
  return cachedBlockSize;
}

function attrIntsOf(node: GraphNode, name: string): number[] | undefined {
  const a = node.attrs[name];
  return a?.type === 'ints' ? a.value : undefined;
}

/**
 * Conv nodes this pass can rewrite, given the weight shapes: 2-D, group 1, float, input channels
 * block-aligned or fewer than a block (output channels are padded to whole blocks).
 */
export function nchwcCandidates(graph: Graph, block: number, weightShape: (name: string) => number[] | undefined): GraphNode[] {
  return graph.nodes.filter((n) => {
    if (n.op !== 'Conv' || n.domain !== '' || graph.initializers.has(n.inputs[1])) return false;
    const group = n.attrs['group'];
    if (group && !(group.type === 'int' && group.value === 1)) return false;
    const w = weightShape(n.inputs[1]);
    if (!w || w.length !== 4) return false;
    const [, i] = w;
    return i % block === 0 || i < block;
  });
}

/**
 * Rewrites the given Conv nodes (see nchwcCandidates) to NCHWc form. `weightShape` gives each
 * kernel's [O, I, kH, kW]. Returns a new graph; nodes keep their order.
 */
export function rewriteConvsNchwc(graph: Graph, convs: GraphNode[], block: number, weightShape: (name: string) => number[] | undefined): Graph {
  const out = cloneGraph(graph);
  const targets = new Set(convs.map((n) => n.name));
  const indexCache = new Map<string, string>();
  const blockedInputs = new Map<string, string>();
  const b = new GraphBuilder(out); // before the node list is emptied: it reserves every existing name
  const original = out.nodes;
  out.nodes = [];
  out.opsets[NCHWC_DOMAIN] = 1;
  for (const node of original) {
    if (!targets.has(node.name)) {
      out.nodes.push(node);
      continue;
    }
    const [x, w, bias] = node.inputs;
    const [o, i, kh, kw] = weightShape(w)!;
    const direct = i < block; // few input channels: NCHW input, kernel in OIHWBo
    // A kernel that is a pure permutation of a tensor of known shape (the input-gradient
    // convolution's flipped, channel-swapped kernel) is gathered from that tensor in one
    // GatherElements (see kernel-layout.util.ts): ORT's Transpose and reversing Slice were each
    // slower than the whole gather. Otherwise ReorderInput (MLAS's blocked reorder) moves the
    // input-channel block, then the output-channel block, innermost: faster than the gather
    // where there is nothing to fold, and than ORT's Transpose (2–3× on the UNet's kernels).
    // Output channels short of a whole block (a UNet's conv_out, 64 → 4) are padded with zero
    // taps and dropped again by ReorderOutput: as NCHW im2col that conv took 1.3 ms, 20× its work.
    const oPad = Math.ceil(o / block) * block;
    const chain = traceKernelChain(graph, w, weightShape);
    let kernel: string;
    if (chain.steps.length > 0 || oPad !== o) {
      const key = JSON.stringify([chain.sourceShape, chain.steps, o, i, kh, kw, block, oPad]);
      let index = indexCache.get(key);
      if (!index) {
        index = b.constant(blockedKernelIndex(chain, [o, i, kh, kw], block, direct, oPad), [oPad * i * kh * kw], 'int32', 'nchwc_kernel_index');
        indexCache.set(key, index);
      }
      const flat = b.reshape(chain.source, [-1]);
      const source = oPad === o ? flat : b.concat([flat, b.constant(new Float32Array(1), [1])], 0);
      kernel = b.node('GatherElements', [source, index], { axis: 0 }, { name: b.fresh(`${node.name}_nchwc_kernel`) })[0];
    } else {
      const reorder = (t: string, step: string) => b.node('ReorderInput', [t], {}, { domain: NCHWC_DOMAIN, name: b.fresh(`${node.name}_nchwc_kernel_${step}`) })[0];
      const inner = direct ? w : reorder(w, 'bi'); // [O, I/B, kH, kW, Bi]
      kernel = reorder(b.reshape(inner, [o / block, block, i * kh * kw, 1]), 'bo'); // [O/B, I/B, kH, kW, Bi, Bo]
    }
    // One reorder per tensor: a gradient often feeds two convolutions (a block's conv and its skip).
    let xin = direct ? x : blockedInputs.get(x);
    if (!xin) {
      xin = b.node('ReorderInput', [x], {}, { domain: NCHWC_DOMAIN })[0];
      blockedInputs.set(x, xin);
    }
    const attrs = { ...node.attrs, kernel_shape: { type: 'ints' as const, value: [kh, kw] } };
    const paddedBias = bias && oPad !== o ? b.concat([bias, b.constant(new Float32Array(oPad - o), [oPad - o])], 0) : bias;
    const inputs = paddedBias ? [xin, b.reshape(kernel, [oPad, i, kh, kw]), paddedBias] : [xin, b.reshape(kernel, [oPad, i, kh, kw])];
    const y = b.node('Conv', inputs, {}, { domain: NCHWC_DOMAIN, name: `${node.name}_nchwc` })[0];
    out.nodes[out.nodes.length - 1].attrs = attrs;
    b.node('ReorderOutput', [y], { channels: o }, { domain: NCHWC_DOMAIN, outputs: [node.outputs[0]] });
  }
  // Transposes and slices that only fed the kernels are left without consumers.
  return pruneGraph(out);
}

/**
 * The shapes of `names` (tensors computed in `graph`), from one run of just the nodes that
 * produce them with zero inputs. Convolution kernels are small and usually depend only on the
 * weights, so this costs little; tensors that need an input of unknown shape are left out.
 */
export async function probeTensorShapes(graph: Graph, names: string[]): Promise<Map<string, number[]>> {
  const shapes = new Map<string, number[]>();
  const sub = pruneGraph({ ...cloneGraph(graph), outputs: names.map((name) => ({ name, dtype: 'float32' as const })) });
  const needed = new Set(sub.nodes.flatMap((n) => n.inputs));
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of sub.inputs) {
    if (!needed.has(input.name)) continue;
    if (!input.shape || input.shape.some((d) => typeof d !== 'number')) return shapes;
    const dims = input.shape as number[];
    if (input.dtype !== 'float32') return shapes;
    feeds[input.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, d) => a * d, 1)), dims);
  }
  sub.inputs = sub.inputs.filter((i) => needed.has(i.name));
  // The outputs' declared type is a guess: a kernel of another type fails the probe, and such
  // convolutions simply stay as they are.
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(encodeModel(sub).model, { graphOptimizationLevel: 'disabled' });
    const res = await session.run(feeds);
    for (const name of names) if (res[name]?.type === 'float32') shapes.set(name, [...res[name].dims]);
  } catch {
    return shapes;
  } finally {
    await session?.release();
  }
  return shapes;
}

/**
 * Rewrites every Conv with a run-time kernel (a graph input or a computed tensor) to ORT's
 * NCHWc kernels where this machine has them; returns the graph unchanged otherwise.
 */
export async function useNchwcConvs(graph: Graph): Promise<Graph> {
  const runtimeKernels = graph.nodes.filter((n) => n.op === 'Conv' && n.domain === '' && !graph.initializers.has(n.inputs[1]));
  if (runtimeKernels.length === 0) return graph;
  const block = await nchwcBlockSize();
  if (!block) return graph;
  const known = new Map<string, number[]>();
  // Only float32 kernels: ORT's NCHWc kernels exist for float alone.
  for (const v of [...graph.inputs, ...(graph.valueInfo ?? [])]) if (v.dtype === 'float32' && v.shape?.every((d) => typeof d === 'number')) known.set(v.name, v.shape as number[]);
  for (const [name, t] of graph.initializers) if (t.dtype === 'float32') known.set(name, t.dims);
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const computed = [...new Set(runtimeKernels.map((n) => n.inputs[1]).filter((w) => !inputNames.has(w) && !known.has(w)))];
  if (computed.length) for (const [k, v] of await probeTensorShapes(graph, computed)) known.set(k, v);
  const shapeOf = (name: string) => known.get(name);
  const convs = nchwcCandidates(graph, block, shapeOf);
  return convs.length ? rewriteConvsNchwc(graph, convs, block, shapeOf) : graph;
}
