import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { GraphBuilder, gradCheck, probeShapes, Rng, type DType } from '@vca/ml';

export interface ParamSpec {
  dims: number[];
  /** Keep values in [lo, hi] (e.g. positive for Log/Sqrt). Default: normal with std 0.5. */
  range?: [number, number];
}

/**
 * Builds `f(params)` into a graph with loss L = Σ f ⊙ R (R random, so every output element
 * matters differently) and checks ∇L against finite differences for every parameter.
 */
export async function checkGradients(
  build: (g: GraphBuilder, p: Record<string, string>) => string,
  params: Record<string, ParamSpec | number[]>,
  opts: { dtype?: DType; eps?: number; tol?: number; feeds?: Record<string, ort.Tensor>; trainable?: string[] } = {},
): Promise<void> {
  const dtype = opts.dtype ?? 'float32';
  const rng = new Rng(42);
  const g = new GraphBuilder('check');
  const names: Record<string, string> = {};
  for (const [name, t] of Object.entries(opts.feeds ?? {})) g.input(name, t.type as DType, [...t.dims]);
  for (const [name, spec0] of Object.entries(params)) {
    const spec = Array.isArray(spec0) ? { dims: spec0 } : spec0;
    const n = spec.dims.reduce((a, b) => a * b, 1);
    const data = spec.range ? rng.uniformArray(n, spec.range[0], spec.range[1]) : rng.normalArray(n, 0.5);
    names[name] = g.initializer(name, dtype === 'float64' ? Float64Array.from(data) : data, spec.dims, dtype);
  }
  const y = build(g, names);
  const shapes = await probeShapes(g.build(), { feeds: opts.feeds });
  const ydims = shapes.get(y)!.dims;
  const r = rng.normalArray(ydims.reduce((a, b) => a * b, 1));
  const rName = g.initializer('R', dtype === 'float64' ? Float64Array.from(r) : r, ydims, dtype);
  g.op('ReduceSum', [g.mul(y, rName)], { keepdims: 0 }, 'loss');
  g.output('loss', dtype, []);
  const results = await gradCheck(g.build(), {
    loss: 'loss',
    wrt: opts.trainable ?? Object.keys(params),
    feeds: opts.feeds,
    eps: opts.eps ?? (dtype === 'float64' ? 1e-6 : 2e-3),
  });
  const tol = opts.tol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
  for (const res of results) {
    expect(Math.abs(res.analytic - res.numeric), `${res.name}: analytic ${res.analytic} vs numeric ${res.numeric}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(res.numeric)),
    );
  }
}
