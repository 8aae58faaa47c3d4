import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { TensorData } from '../onnx/graph.model';
import { loadSafetensors, saveSafetensors } from '../safetensors/safetensors.codec';

/** trainer.json: everything besides tensors that a resumed run needs to continue bit-identically. */
export const checkpointMetaSchema = z.object({
  version: z.literal(1),
  step: z.number().int().nonnegative(),
  optimizerStep: z.number().int().nonnegative(),
  rngState: z.number().int().nonnegative(),
  trainable: z.array(z.string()),
  config: z.unknown(),
});
export type CheckpointMeta = z.infer<typeof checkpointMetaSchema>;

export interface Checkpoint {
  meta: CheckpointMeta;
  /** Trainable weights, plus `ema.<name>` shadows when EMA is on. */
  weights: Map<string, TensorData>;
  /** AdamW moments `m.<name>` / `v.<name>`. */
  optimizer: Map<string, TensorData>;
}

const FILES = { weights: 'weights.safetensors', optimizer: 'optimizer.safetensors', meta: 'trainer.json' };

/** Writes a checkpoint folder; trainer.json goes last (via rename) so a half-written folder is never "complete". */
export function saveCheckpoint(dir: string, c: Checkpoint): void {
  mkdirSync(dir, { recursive: true });
  saveSafetensors(join(dir, FILES.weights), c.weights, { step: String(c.meta.step) });
  saveSafetensors(join(dir, FILES.optimizer), c.optimizer, { step: String(c.meta.step) });
  const tmp = join(dir, `${FILES.meta}.tmp`);
  writeFileSync(tmp, JSON.stringify(c.meta, null, 2));
  renameSync(tmp, join(dir, FILES.meta));
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, FILES.meta));
}

export function loadCheckpoint(dir: string): Checkpoint {
  const meta = checkpointMetaSchema.parse(JSON.parse(readFileSync(join(dir, FILES.meta), 'utf8')));
  return {
    meta,
    weights: loadSafetensors(join(dir, FILES.weights)).tensors,
    optimizer: loadSafetensors(join(dir, FILES.optimizer)).tensors,
  };
}
