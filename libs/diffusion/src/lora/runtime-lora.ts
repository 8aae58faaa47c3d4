import { readFileSync } from 'node:fs';
import type * as ort from 'onnxruntime-node';
import { DiffusionModelError } from '../model/diffusion-model.error';
import { writeRewrittenModel, type RewrittenModelFile } from '../model/rewritten-model.util';
import { floatTensor } from '../tensor/float-tensor.util';
import type { LoraAdapter, LoraModule } from './lora-adapter';
import { addRuntimeLoraInputs, type LoraTarget } from './lora-graph.transform';

export interface LoraApplication {
  lora: LoraAdapter;
  /** Strength s: ΔW = s·(α/r)·B·A. 0 equals no adapter. */
  scale: number;
}

/**
 * The run-time LoRA side of a loaded UNet: the rewritten graph file, its targets, and the
 * feeds for any stack of adapters. The rewritten model is a temporary file removed on dispose.
 */
export class RuntimeLora {
  private readonly bound = new WeakMap<LoraAdapter, Map<string, LoraModule>>();
  private readonly byPath: Map<string, LoraTarget>;
  private readonly byKohya: Map<string, LoraTarget>;

  private constructor(
    readonly unetPath: string,
    readonly targets: readonly LoraTarget[],
    private readonly file: RewrittenModelFile,
  ) {
    this.byPath = new Map(targets.map((t) => [t.path, t]));
    // kohya stems are the module path with '.' → '_' under `lora_unet_`.
    this.byKohya = new Map(targets.map((t) => [`lora_unet_${t.path.replaceAll('.', '_')}`, t]));
  }

  /** Rewrites the UNet; null when the graph has no recognisable attention projection. */
  static prepare(originalUnetPath: string): RuntimeLora | null {
    const { model, targets, externalLocations } = addRuntimeLoraInputs(readFileSync(originalUnetPath));
    if (targets.length === 0) return null;
    const file = writeRewrittenModel(originalUnetPath, model, externalLocations);
    return new RuntimeLora(file.path, targets, file);
  }

  /** Maps an adapter's modules onto targets; throws naming every module that matches nothing. */
  bind(adapter: LoraAdapter): Map<string, LoraModule> {
    const cached = this.bound.get(adapter);
    if (cached) return cached;
    const out = new Map<string, LoraModule>();
    const unmatched: string[] = [];
    for (const m of adapter.modules.values()) {
      const target = m.naming === 'kohya' ? this.byKohya.get(m.key) : this.byPath.get(m.key);
      if (!target) {
        unmatched.push(m.key);
        continue;
      }
      if (m.inDim !== target.inDim || m.outDim !== target.outDim) {
        throw new DiffusionModelError('WRONG_SHAPE', `LoRA ${adapter.name}: ${m.key} is ${m.inDim}→${m.outDim}, the UNet's ${target.path} is ${target.inDim}→${target.outDim}`);
      }
      out.set(target.path, m);
    }
    if (unmatched.length) {
      throw new DiffusionModelError(
        'LORA_MISMATCH',
        `LoRA ${adapter.name}: ${unmatched.length} module name(s) match no UNet attention projection (q/k/v/out), e.g. ${unmatched.slice(0, 5).join(', ')}; ` +
          `known targets look like ${this.targets[0]!.path}`,
      );
    }
    this.bound.set(adapter, out);
    return out;
  }

  /** Graph inputs for a stack of adapters; an empty stack gives rank-0 tensors (no LoRA). */
  feeds(applications: readonly LoraApplication[]): Record<string, ort.Tensor> {
    const bound = applications.map((a) => ({ modules: this.bind(a.lora), scale: a.scale }));
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of this.targets) {
      const parts = bound.flatMap(({ modules, scale }) => {
        const m = modules.get(t.path);
        // Scale 0 still goes through the graph (zeros in D), so "scale 0 = no LoRA" is a real property.
        return m ? [{ m, s: (scale * (m.alpha ?? m.rank)) / m.rank }] : [];
      });
      const R = parts.reduce((sum, p) => sum + p.m.rank, 0);
      const down = new Float32Array(t.inDim * R);
      const up = new Float32Array(R * t.outDim);
      let offset = 0;
      for (const { m, s } of parts) {
        // D[i, offset + j] = s·A[j, i];  U[offset + j, o] = B[o, j]
        for (let j = 0; j < m.rank; j++) {
          for (let i = 0; i < t.inDim; i++) down[i * R + offset + j] = s * m.down[j * t.inDim + i]!;
          for (let o = 0; o < t.outDim; o++) up[(offset + j) * t.outDim + o] = m.up[o * m.rank + j]!;
        }
        offset += m.rank;
      }
      feeds[t.downInput] = floatTensor(t.dtype, down, [t.inDim, R], t.downInput);
      feeds[t.upInput] = floatTensor(t.dtype, up, [R, t.outDim], t.upInput);
    }
    return feeds;
  }

  dispose(): void {
    this.file.dispose();
  }
}
