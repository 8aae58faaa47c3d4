import * as ort from 'onnxruntime-node';
import type { TypedArray } from '../onnx/dtype.util';
import type { Graph } from '../onnx/graph.model';
import { createSession } from '../runtime/session.factory';
import { Rng } from '../util/random.util';
import { buildGradientGraph } from './gradient-graph.builder';

export interface GradCheckResult {
  name: string;
  /** ⟨∇L, v⟩ from the gradient graph. */
  analytic: number;
  /** (L(θ+εv) − L(θ−εv)) / 2ε */
  numeric: number;
  relError: number;
}

/**
 * Compares the gradient graph with central finite differences along random unit directions v
 * (one directional derivative per trainable tensor and direction: cheap, and it exercises every
 * element at once). Works in float32 or float64, whichever the graph uses.
 */
export async function gradCheck(
  forward: Graph,
  opts: { loss: string; wrt: string[]; feeds?: Record<string, ort.Tensor>; eps?: number; directions?: number; seed?: number },
): Promise<GradCheckResult[]> {
  const eps = opts.eps ?? 1e-3;
  const gg = await buildGradientGraph(forward, { loss: opts.loss, wrt: opts.wrt, feeds: opts.feeds });
  const { session } = await createSession(gg.graph, { threads: 1 });
  const base: Record<string, ort.Tensor> = { ...opts.feeds };
  for (const [k, t] of gg.initialValues) base[k] = new ort.Tensor(t.dtype, t.data as never, t.dims);
  const run = async (feeds: Record<string, ort.Tensor>) => session.run(feeds);
  const out = await run(base);
  const rng = new Rng(opts.seed ?? 7);
  const results: GradCheckResult[] = [];
  for (const name of opts.wrt) {
    const x = base[name];
    const grad = out[gg.gradients[name]].data as Float32Array | Float64Array;
    for (let d = 0; d < (opts.directions ?? 2); d++) {
      const v = rng.normalArray(x.size);
      const norm = Math.sqrt(v.reduce((a, e) => a + e * e, 0));
      v.forEach((e, i) => (v[i] = e / norm));
      let analytic = 0;
      for (let i = 0; i < v.length; i++) analytic += grad[i] * v[i];
      const shifted = async (sign: number) => {
        const data = (x.data as Float32Array | Float64Array).slice();
        for (let i = 0; i < v.length; i++) data[i] += sign * eps * v[i];
        const r = await run({ ...base, [name]: new ort.Tensor(x.type as 'float32', data as TypedArray as Float32Array, x.dims) });
        return Number((r[gg.loss].data as Float32Array)[0]);
      };
      const numeric = ((await shifted(1)) - (await shifted(-1))) / (2 * eps);
      results.push({ name, analytic, numeric, relError: Math.abs(analytic - numeric) / Math.max(1e-6, Math.abs(analytic), Math.abs(numeric)) });
    }
  }
  await session.release();
  return results;
}
