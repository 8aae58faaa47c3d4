/**
 * Float32 buffers in one WebAssembly memory, with the optimizer's per-element passes (AdamW,
 * weight EMA, Σg²) as WebAssembly SIMD loops over them. V8 runs the plain TypeScript loops one
 * scalar double at a time: AdamW over the 2.3M-parameter UNet took 9–12 ms of a ~200 ms step;
 * four float32 lanes at a time take about 1.4 ms. The buffers are ordinary Float32Array views,
 * so ONNX Runtime reads weights from and writes gradients into them without copies.
 *
 * The memory is sized once (WebAssembly memory that grows detaches every view made before), so
 * a trainer reserves room for all it will hold: weights, gradients, both moments, EMA shadows.
 * The module is assembled here from its opcodes (a few dozen instructions; no toolchain).
 */

// The ES2023 lib has no WebAssembly types (they come with 'dom'); the part used here, as Node has it.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}

// --- a minimal WebAssembly binary encoder -------------------------------------------------
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const OP = {
  i32Add: 0x6a,
  i32GeU: 0x4f,
  f64Add: 0xa0,
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  void: 0x40,
  i32Const: 0x41,
} as const;
const V = {
  load: 0x00,
  store: 0x0b,
  shuffle: 0x0d,
  f32Splat: 0x13,
  f64Extract: 0x21,
  f64PromoteLow: 0x5f,
  f32Sqrt: 0xe3,
  f32Add: 0xe4,
  f32Sub: 0xe5,
  f32Mul: 0xe6,
  f32Div: 0xe7,
  f64Add: 0xf0,
} as const;
const MEMARG = [4, 0]; // 16-byte alignment hint, offset 0

/** v128.load of local `base` + local `i` (a byte offset). */
const loadAt = (base: number, i: number) => [...get(base), ...get(i), OP.i32Add, ...simd(V.load, ...MEMARG)];
/** Address for a later v128.store: local `base` + local `i`. */
const addr = (base: number, i: number) => [...get(base), ...get(i), OP.i32Add];
/** An f32 parameter splatted into an f32x4 local. */
const splat = (param: number, local: number) => [...get(param), ...simd(V.f32Splat), ...set(local)];
/** Adds x² (x an f32x4 local) into two f64x2 accumulators (lanes 0–1 and 2–3). */
const accumulateSquares = (x: number, sq: number, lo: number, hi: number) => [
  ...get(x),
  ...get(x),
  ...simd(V.f32Mul),
  ...tee(sq),
  ...simd(V.f64PromoteLow),
  ...get(lo),
  ...simd(V.f64Add),
  ...set(lo),
  ...get(sq),
  ...get(sq),
  ...simd(V.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7),
  ...simd(V.f64PromoteLow),
  ...get(hi),
  ...simd(V.f64Add),
  ...set(hi),
];
/** Σ of the four f64 lanes of two f64x2 accumulators, left on the stack. */
const sumLanes = (lo: number, hi: number) => [
  ...get(lo),
  ...simd(V.f64Extract, 0),
  ...get(lo),
  ...simd(V.f64Extract, 1),
  OP.f64Add,
  ...get(hi),
  ...simd(V.f64Extract, 0),
  OP.f64Add,
  ...get(hi),
  ...simd(V.f64Extract, 1),
  OP.f64Add,
];
/** p[i] ← a·p[i] + b·x (a, b, x f32x4 locals; p, i as for loadAt), the new value also kept in local `kept`. */
const blendInto = (p: number, i: number, a: number, b: number, x: number, kept: number) => [
  ...addr(p, i),
  ...get(a),
  ...loadAt(p, i),
  ...simd(V.f32Mul),
  ...get(b),
  ...get(x),
  ...simd(V.f32Mul),
  ...simd(V.f32Add),
  ...tee(kept),
  ...simd(V.store, ...MEMARG),
];
/** for (i = 0; i < end; i += 16) body — `i` and `end` are i32 locals. */
const loop16 = (i: number, end: number, body: number[]) => [
  OP.block,
  OP.void,
  OP.loop,
  OP.void,
  ...get(i),
  ...get(end),
  OP.i32GeU,
  OP.brIf,
  1,
  ...body,
  ...get(i),
  OP.i32Const,
  16,
  OP.i32Add,
  ...set(i),
  OP.br,
  0,
  OP.end,
  OP.end,
];

/**
 * adamw(θ, m, v, g, bytes, β₁, c₁, β₂, c₂, s, e, decay) → Σg² (f64):
 *   m ← β₁m + c₁g,  v ← β₂v + c₂g²,  θ ← θ·decay − s·m/(√v + e)
 * (c₁ = (1−β₁)·scale, c₂ = (1−β₂)·scale², s and e with the bias corrections folded in).
 */
function adamwBody(): number[] {
  const [th, m, v, g, end] = [0, 1, 2, 3, 4];
  const [b1, c1, b2, c2, s, e, dec] = [12, 13, 14, 15, 16, 17, 18]; // f32x4 splats of params 5–11
  const [i, gv, mv, vv, sq, lo, hi] = [19, 20, 21, 22, 23, 24, 25];
  return [
    ...vec([
      [7, V128],
      [1, I32],
      [6, V128],
    ]),
    ...splat(5, b1),
    ...splat(6, c1),
    ...splat(7, b2),
    ...splat(8, c2),
    ...splat(9, s),
    ...splat(10, e),
    ...splat(11, dec),
    ...loop16(i, end, [
      ...loadAt(g, i),
      ...set(gv),
      ...accumulateSquares(gv, sq, lo, hi),
      ...blendInto(m, i, b1, c1, gv, mv), // m ← β₁m + c₁g
      ...blendInto(v, i, b2, c2, sq, vv), // v ← β₂v + c₂g²
      // θ ← θ·decay − s·m/(√v + e)
      ...addr(th, i),
      ...loadAt(th, i),
      ...get(dec),
      ...simd(V.f32Mul),
      ...get(s),
      ...get(mv),
      ...simd(V.f32Mul),
      ...get(vv),
      ...simd(V.f32Sqrt),
      ...get(e),
      ...simd(V.f32Add),
      ...simd(V.f32Div),
      ...simd(V.f32Sub),
      ...simd(V.store, ...MEMARG),
    ]),
    ...sumLanes(lo, hi),
    OP.end,
  ];
}

/** axpby(dst, x, y, bytes, a, b): dst ← a·x + b·y (dst may be x or y). */
function axpbyBody(): number[] {
  const [dst, x, y, end, a, bb] = [0, 1, 2, 3, 4, 5];
  const [av, bv, i] = [6, 7, 8];
  return [
    ...vec([
      [2, V128],
      [1, I32],
    ]),
    ...splat(a, av),
    ...splat(bb, bv),
    ...loop16(i, end, [...addr(dst, i), ...get(av), ...loadAt(x, i), ...simd(V.f32Mul), ...get(bv), ...loadAt(y, i), ...simd(V.f32Mul), ...simd(V.f32Add), ...simd(V.store, ...MEMARG)]),
    OP.end,
  ];
}

/** sumsq(g, bytes) → Σg² (f64). */
function sumsqBody(): number[] {
  const [g, end] = [0, 1];
  const [gv, sq, lo, hi, i] = [2, 3, 4, 5, 6];
  return [
    ...vec([
      [4, V128],
      [1, I32],
    ]),
    ...loop16(i, end, [...loadAt(g, i), ...set(gv), ...accumulateSquares(gv, sq, lo, hi)]),
    ...sumLanes(lo, hi),
    OP.end,
  ];
}

/** The kernels' module; `shared`: it imports a shared memory of exactly `pages` pages. */
function assemble(shared: boolean, pages: number): Uint8Array {
  const fnType = (params: number[], results: number[]) => [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
  const types = section(
    1,
    vec([
      fnType([I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32], [F64]),
      fnType([I32, I32], [F64]),
      fnType([I32, I32, I32, I32, F32, F32], []),
    ]),
  );
  // Memory limits: 0x00 min (private), or 0x03 min max (shared, which needs a maximum).
  const limits = shared ? [0x03, ...uleb(pages), ...uleb(pages)] : [0x00, 0x01];
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]]));
  const functions = section(3, vec([[0], [1], [2]]));
  const exports = section(7, vec([[...name('adamw'), 0x00, 0], [...name('sumsq'), 0x00, 1], [...name('axpby'), 0x00, 2]]));
  const code = section(10, vec([adamwBody(), sumsqBody(), axpbyBody()].map((body) => [...uleb(body.length), ...body])));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...functions, ...exports, ...code]);
}

interface Kernels {
  adamw(th: number, m: number, v: number, g: number, bytes: number, b1: number, c1: number, b2: number, c2: number, s: number, e: number, decay: number): number;
  sumsq(g: number, bytes: number): number;
  axpby(dst: number, x: number, y: number, bytes: number, a: number, b: number): void;
}

const compiled = new Map<string, WebAssembly.Module | null>();
function kernelModule(shared: boolean, pages: number): WebAssembly.Module | null {
  const key = shared ? `shared:${pages}` : 'private';
  if (!compiled.has(key)) {
    try {
      compiled.set(key, new WebAssembly.Module(assemble(shared, pages)));
    } catch {
      compiled.set(key, null); // no WebAssembly SIMD (or shared memory) here: callers keep their scalar loops
    }
  }
  return compiled.get(key)!;
}

/** Coefficients of one AdamW update (see AdamW.step for how they are derived). */
export interface AdamWCoefficients {
  beta1: number;
  c1: number;
  beta2: number;
  c2: number;
  stepSize: number;
  eps: number;
  decay: number;
}

const MAX_PAGES = 65536;

export class SimdArena {
  private readonly memory: WebAssembly.Memory;
  private readonly k: Kernels;
  private used = 0;
  readonly capacity: number;

  private constructor(module: WebAssembly.Module, memory: WebAssembly.Memory) {
    this.memory = memory;
    this.capacity = (this.memory.buffer.byteLength / 4) | 0;
    this.k = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as Kernels;
  }

  /**
   * An arena with room for `floats` float32 values (plus alignment), or undefined where this
   * runtime has no WebAssembly SIMD. `shared`: its memory is a SharedArrayBuffer that worker
   * threads can read and write (ONNX Runtime itself does not take shared buffers as tensors).
   */
  static create(floats: number, opts: { shared?: boolean } = {}): SimdArena | undefined {
    const pages = Math.max(1, Math.ceil(Math.max(16, floats * 4) / 65536));
    // 32-bit WebAssembly addresses at most 4 GiB (65536 pages): bigger trainers keep scalar loops.
    if (pages > MAX_PAGES) return undefined;
    const module = kernelModule(!!opts.shared, pages);
    if (!module) return undefined;
    try {
      return new SimdArena(module, new WebAssembly.Memory(opts.shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages }));
    } catch {
      return undefined; // the memory could not be reserved
    }
  }

  /** The memory behind every view (a SharedArrayBuffer for a shared arena). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.memory.buffer;
  }

  /** Room one array of n floats takes (views start on 16-byte boundaries). */
  static footprint(n: number): number {
    return Math.ceil(n / 4) * 4;
  }

  /** A zeroed Float32Array of n values in the arena; throws when the arena is full. */
  alloc(n: number): Float32Array {
    const need = SimdArena.footprint(n);
    if (this.used + need > this.capacity) throw new Error(`SimdArena: ${n} floats do not fit (${this.capacity - this.used} of ${this.capacity} left)`);
    const view = new Float32Array(this.memory.buffer, this.used * 4, n);
    this.used += need;
    return view;
  }

  /** A copy of `data` in the arena. */
  copy(data: ArrayLike<number>): Float32Array {
    const view = this.alloc(data.length);
    view.set(data);
    return view;
  }

  owns(a: Float32Array): boolean {
    return a.buffer === this.memory.buffer;
  }

  /**
   * AdamW over arrays of this arena (equal lengths): the SIMD loop covers whole groups of four,
   * a scalar tail the rest. Returns Σg² of the unscaled gradients.
   */
  adamw(theta: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, c: AdamWCoefficients): number {
    const whole = theta.length & ~3;
    let sum = this.k.adamw(theta.byteOffset, m.byteOffset, v.byteOffset, g.byteOffset, whole * 4, c.beta1, c.c1, c.beta2, c.c2, c.stepSize, c.eps, c.decay);
    for (let i = whole; i < theta.length; i++) {
      const gi = g[i];
      sum += gi * gi;
      m[i] = c.beta1 * m[i] + c.c1 * gi;
      v[i] = c.beta2 * v[i] + c.c2 * gi * gi;
      theta[i] = theta[i] * c.decay - (c.stepSize * m[i]) / (Math.sqrt(v[i]) + c.eps);
    }
    return sum;
  }

  /** shadow ← d·shadow + (1−d)·θ (axpby with the shadow as destination and first operand). */
  ema(shadow: Float32Array, theta: Float32Array, decay: number): void {
    this.axpby(shadow, shadow, theta, decay, 1 - decay);
  }

  /** dst ← a·x + b·y (equal lengths; dst may be x or y). */
  axpby(dst: Float32Array, x: Float32Array, y: Float32Array, a: number, b: number): void {
    const whole = dst.length & ~3;
    this.k.axpby(dst.byteOffset, x.byteOffset, y.byteOffset, whole * 4, a, b);
    for (let i = whole; i < dst.length; i++) dst[i] = a * x[i] + b * y[i];
  }

  /** Σg². */
  sumSquares(g: Float32Array): number {
    const whole = g.length & ~3;
    let sum = this.k.sumsq(g.byteOffset, whole * 4);
    for (let i = whole; i < g.length; i++) sum += g[i] * g[i];
    return sum;
  }
}
