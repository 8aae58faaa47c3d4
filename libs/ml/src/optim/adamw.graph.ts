import { GraphBuilder } from '../onnx/graph.builder';
import { cloneGraph, type Graph } from '../onnx/graph.model';
import type { GradientGraph } from '../autodiff/gradient-graph.builder';

/** Scalar inputs of the in-graph AdamW update, recomputed per step by the caller (see adamWGraphScalars). */
export const ADAMW_GRAPH_INPUTS = { stepSize: 'adamw.step_size', invSqrtBc2: 'adamw.inv_sqrt_bc2', decay: 'adamw.decay' } as const;

export interface AdamWGraph {
  graph: Graph;
  /** param → [updated param, updated m, updated v] output names; m/v inputs are `m.<param>` / `v.<param>`. */
  updates: Record<string, { param: string; m: string; v: string }>;
}

/**
 * The AdamW update of adamw.optimizer.ts expressed as ONNX nodes appended to a gradient graph
 * (with optional global-norm clipping), so forward, backward and update run in one session.
 * Kept for the measurement in bench/train.bench.ts and for GPU use, where it avoids copying
 * gradients to the host.
 */
export function appendAdamW(gg: GradientGraph, opts: { beta1?: number; beta2?: number; eps?: number; clipGradNorm?: number } = {}): AdamWGraph {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = opts;
  const graph = cloneGraph(gg.graph);
  const b = new GraphBuilder(graph);
  const stepSize = b.input(ADAMW_GRAPH_INPUTS.stepSize, 'float32', []);
  const invSqrtBc2 = b.input(ADAMW_GRAPH_INPUTS.invSqrtBc2, 'float32', []);
  const decay = b.input(ADAMW_GRAPH_INPUTS.decay, 'float32', []);
  const params = Object.keys(gg.gradients);
  let scale: string | undefined;
  if (opts.clipGradNorm) {
    const sq = params.map((p) => b.op('ReduceSumSquare', [gg.gradients[p]], { keepdims: 0 }));
    const norm = b.sqrt(sq.length === 1 ? sq[0] : b.op('Sum', sq));
    scale = b.op('Min', [b.scalar(1), b.div(b.scalar(opts.clipGradNorm), b.add(norm, b.scalar(1e-6)))]);
  }
  const updates: AdamWGraph['updates'] = {};
  const outputs = [graph.outputs[0]];
  for (const p of params) {
    const dims = gg.shapes.get(p)!.dims;
    const m = b.input(`m.${p}`, 'float32', dims);
    const v = b.input(`v.${p}`, 'float32', dims);
    const g = scale ? b.mul(gg.gradients[p], scale) : gg.gradients[p];
    const m2 = b.add(b.mul(m, b.scalar(beta1)), b.mul(g, b.scalar(1 - beta1)));
    const v2 = b.add(b.mul(v, b.scalar(beta2)), b.mul(b.mul(g, g), b.scalar(1 - beta2)));
    const denom = b.add(b.mul(b.sqrt(v2), invSqrtBc2), b.scalar(eps));
    const p2 = b.sub(b.mul(p, decay), b.div(b.mul(m2, stepSize), denom));
    updates[p] = { param: p2, m: m2, v: v2 };
    outputs.push({ name: p2, dtype: 'float32', shape: dims }, { name: m2, dtype: 'float32', shape: dims }, { name: v2, dtype: 'float32', shape: dims });
  }
  graph.outputs = outputs;
  return { graph, updates };
}

/** Per-step scalars for appendAdamW, matching AdamW.step's bias-corrected form. */
export function adamWGraphScalars(lr: number, t: number, beta1 = 0.9, beta2 = 0.999, weightDecay = 0): Record<string, number> {
  return {
    [ADAMW_GRAPH_INPUTS.stepSize]: lr / (1 - beta1 ** t),
    [ADAMW_GRAPH_INPUTS.invSqrtBc2]: 1 / Math.sqrt(1 - beta2 ** t),
    [ADAMW_GRAPH_INPUTS.decay]: 1 - lr * weightDecay,
  };
}
