import { GraphBuilder } from '../onnx/graph.builder';
import { Rng } from '../util/random.util';

/**
 * Layer helpers that create their own weights (seeded) and emit ONNX nodes. Weight names are
 * dotted paths (`down1.attn.self.q.weight`) so LoRA and freezing can select them by pattern.
 */
export class Layers {
  constructor(
    readonly g: GraphBuilder,
    readonly rng: Rng,
  ) {}

  /** A weight with N(0, std²) entries (std = 1/√fan_in unless given), or a constant fill. */
  param(name: string, dims: number[], init: { std?: number; fill?: number } = {}): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const fanIn = dims.length > 1 ? n / dims[0] : n;
    const data = init.fill !== undefined ? new Float32Array(n).fill(init.fill) : this.rng.normalArray(n, init.std ?? 1 / Math.sqrt(fanIn));
    return this.g.initializer(name, data, dims);
  }

  /** y = x·W (+ b), W stored [in, out] as MatMul expects. */
  linear(name: string, x: string, cin: number, cout: number, bias = true): string {
    const w = this.param(`${name}.weight`, [cin, cout], { std: 1 / Math.sqrt(cin) });
    const y = this.g.matmul(x, w);
    return bias ? this.g.add(y, this.param(`${name}.bias`, [cout], { fill: 0 })) : y;
  }

  conv(name: string, x: string, cin: number, cout: number, k: number, stride = 1): string {
    const w = this.param(`${name}.weight`, [cout, cin, k, k], { std: Math.sqrt(1 / (cin * k * k)) });
    const b = this.param(`${name}.bias`, [cout], { fill: 0 });
    const p = Math.floor(k / 2);
    return this.g.conv(x, w, b, { strides: [stride, stride], pads: [p, p, p, p] });
  }

  /** GroupNorm over NCHW `shape` in the exporters' InstanceNormalization form. */
  groupNorm(name: string, x: string, groups: number, shape: number[]): string {
    const c = shape[1];
    return this.g.groupNorm(x, groups, shape, this.param(`${name}.weight`, [c], { fill: 1 }), this.param(`${name}.bias`, [c], { fill: 0 }));
  }
}
