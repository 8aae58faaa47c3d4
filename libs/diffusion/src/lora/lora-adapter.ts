import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { decodeSafetensors, type TensorData } from '@vca/ml';
import { DiffusionModelError } from '../model/diffusion-model.error';
import { halfToFloat32 } from '../tensor/half-float.util';

export type LoraNaming = 'peft' | 'kohya' | 'vca';

/** One adapted projection: ΔW = (α/r)·B·A with A = down [r, in], B = up [out, r] (PyTorch layout). */
export interface LoraModule {
  /** Module path (`down_blocks.0.…attn1.to_q`) for PEFT/diffusers and @vca/ml files, the raw `lora_unet_…` stem for kohya. */
  key: string;
  naming: LoraNaming;
  down: Float32Array;
  up: Float32Array;
  rank: number;
  inDim: number;
  outDim: number;
  /** α; the effective multiplier is α/r (1 when the file stores no α). */
  alpha: number | null;
}

// Recognised key forms, each giving (module stem, role). Roles: down = A, up = B, alpha.
const PATTERNS: { re: RegExp; naming: LoraNaming; role: 'down' | 'up' | 'alpha'; stem?: (m: RegExpMatchArray) => string }[] = [
  // @vca/ml `saveLora`: <weight>.lora_A [in, r], <weight>.lora_B [r, out], α and r in the metadata
  { re: /^(.+)\.weight\.lora_A$/, naming: 'vca', role: 'down' },
  { re: /^(.+)\.weight\.lora_B$/, naming: 'vca', role: 'up' },
  // kohya-ss sd-scripts: lora_unet_down_blocks_0_…_to_q.lora_down.weight / .lora_up.weight / .alpha
  { re: /^(lora_(?:unet|te\d?)_.+)\.lora_down\.weight$/, naming: 'kohya', role: 'down' },
  { re: /^(lora_(?:unet|te\d?)_.+)\.lora_up\.weight$/, naming: 'kohya', role: 'up' },
  { re: /^(lora_(?:unet|te\d?)_.+)\.alpha$/, naming: 'kohya', role: 'alpha' },
  // PEFT (lora_A/lora_B, optionally with an adapter name) — diffusers ≥ 0.22 saves this form
  { re: /^(.+)\.lora_A(?:\.[^.]+)?\.weight$/, naming: 'peft', role: 'down' },
  { re: /^(.+)\.lora_B(?:\.[^.]+)?\.weight$/, naming: 'peft', role: 'up' },
  // diffusers attention processors: …attn1.processor.to_q_lora.down.weight
  { re: /^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.down\.weight$/, naming: 'peft', role: 'down', stem: (m) => `${m[1]}.${m[2] === 'to_out' ? 'to_out.0' : m[2]}` },
  { re: /^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.up\.weight$/, naming: 'peft', role: 'up', stem: (m) => `${m[1]}.${m[2] === 'to_out' ? 'to_out.0' : m[2]}` },
  // older diffusers LoRALinearLayer: …to_q.lora.down.weight
  { re: /^(.+)\.lora\.down\.weight$/, naming: 'peft', role: 'down' },
  { re: /^(.+)\.lora\.up\.weight$/, naming: 'peft', role: 'up' },
  { re: /^(.+)\.alpha$/, naming: 'peft', role: 'alpha' },
];

/** Prefixes that wrap UNet module paths in PEFT/diffusers files. */
const PEFT_PREFIXES = ['base_model.model.', 'unet.'];

/**
 * A LoRA adapter read from safetensors, in the diffusers/PEFT naming, the kohya naming, or
 * `@vca/ml`'s `saveLora` naming (what the project's training worker writes).
 * Parsing does not need the model; `RuntimeLora.bind` maps the modules onto a UNet graph and
 * rejects names that match nothing.
 */
export class LoraAdapter {
  constructor(
    readonly name: string,
    readonly modules: ReadonlyMap<string, LoraModule>,
  ) {}

  static load(path: string, name = basename(path).replace(/\.safetensors$/, '')): LoraAdapter {
    return LoraAdapter.fromSafetensors(readFileSync(path), name);
  }

  static fromSafetensors(bytes: Uint8Array, name = 'lora'): LoraAdapter {
    let tensors: Map<string, TensorData>;
    let metadata: Record<string, string>;
    try {
      ({ tensors, metadata } = decodeSafetensors(bytes));
    } catch (err) {
      throw new DiffusionModelError('LORA_MISMATCH', `${name}: not a readable safetensors file (${(err as Error).message})`);
    }
    const parts = new Map<string, { naming: LoraNaming; down?: TensorData; up?: TensorData; alpha?: number }>();
    const unknown: string[] = [];
    for (const [key, t] of tensors) {
      const hit = PATTERNS.map((p) => ({ p, m: key.match(p.re) })).find((x) => x.m);
      if (!hit) {
        unknown.push(key);
        continue;
      }
      let stem = hit.p.stem ? hit.p.stem(hit.m!) : hit.m![1]!;
      if (hit.p.naming === 'peft') for (const prefix of PEFT_PREFIXES) if (stem.startsWith(prefix)) stem = stem.slice(prefix.length);
      const entry = parts.get(stem) ?? { naming: hit.p.naming };
      if (hit.p.role === 'alpha') entry.alpha = Number(toFloat32(t)[0]);
      else entry[hit.p.role] = t;
      parts.set(stem, entry);
    }
    if (unknown.length) {
      throw new DiffusionModelError('LORA_MISMATCH', `${name}: ${unknown.length} tensor name(s) are not LoRA weights in PEFT/diffusers or kohya naming, e.g. ${unknown.slice(0, 5).join(', ')}`);
    }
    const modules = new Map<string, LoraModule>();
    for (const [key, e] of parts) {
      if (!e.down || !e.up) throw new DiffusionModelError('LORA_MISMATCH', `${name}: module ${key} has ${e.down ? 'no up (B)' : 'no down (A)'} matrix`);
      // 1×1 conv LoRA ([r, in, 1, 1]) is a linear one; @vca/ml stores A and B transposed.
      let down = squeeze2d(e.down, `${key} down`, name);
      let up = squeeze2d(e.up, `${key} up`, name);
      if (e.naming === 'vca') {
        [down, up] = [transpose2d(down), transpose2d(up)];
        e.alpha ??= Number(metadata['lora.alpha']) || undefined;
      }
      if (down.dims[0] !== up.dims[1]) throw new DiffusionModelError('LORA_MISMATCH', `${name}: ${key} has down [${down.dims}] and up [${up.dims}] of different rank`);
      modules.set(key, { key, naming: e.naming, down: toFloat32(down), up: toFloat32(up), rank: down.dims[0]!, inDim: down.dims[1]!, outDim: up.dims[0]!, alpha: e.alpha ?? null });
    }
    if (modules.size === 0) throw new DiffusionModelError('LORA_MISMATCH', `${name}: contains no LoRA weights`);
    return new LoraAdapter(name, modules);
  }
}

function squeeze2d(t: TensorData, what: string, name: string): TensorData {
  const dims = t.dims.length === 4 && t.dims[2] === 1 && t.dims[3] === 1 ? t.dims.slice(0, 2) : t.dims;
  if (dims.length !== 2) throw new DiffusionModelError('LORA_MISMATCH', `${name}: ${what} has shape [${t.dims}], expected a matrix`);
  return { ...t, dims };
}

function transpose2d(t: TensorData): TensorData {
  const [rows, cols] = t.dims as [number, number];
  const src = toFloat32(t);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = src[i * cols + j]!;
  return { dtype: 'float32', dims: [cols, rows], data: out };
}

function toFloat32(t: TensorData): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dtype === 'float16') return halfToFloat32(t.data as Uint16Array);
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  throw new DiffusionModelError('LORA_MISMATCH', `LoRA tensors must be float32 or float16, got ${t.dtype}`);
}
