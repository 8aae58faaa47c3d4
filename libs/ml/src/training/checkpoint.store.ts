import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import type { TensorData } from '../onnx/graph.model';
import { loadSafetensors, saveSafetensors } from '../safetensors/safetensors.codec';

/** A file name inside the checkpoint folder (no path). */
const fileName = z.string().regex(/^[\w.-]+$/, 'a file name inside the checkpoint folder');

/** trainer.json: everything besides tensors that a resumed run needs to continue bit-identically. */
export const checkpointMetaSchema = z.object({
  version: z.literal(1),
  step: z.number().int().nonnegative(),
  optimizerStep: z.number().int().nonnegative(),
  rngState: z.number().int().nonnegative(),
  trainable: z.array(z.string()),
  config: z.unknown(),
  /** The tensor files of this checkpoint; absent in folders written before they were named per step. */
  files: z.object({ weights: fileName, optimizer: fileName }).optional(),
});
export type CheckpointMeta = z.infer<typeof checkpointMetaSchema>;

export interface Checkpoint {
  meta: CheckpointMeta;
  /** Trainable weights, plus `ema.<name>` shadows when EMA is on. */
  weights: Map<string, TensorData>;
  /** AdamW moments `m.<name>` / `v.<name>`. */
  optimizer: Map<string, TensorData>;
}

const META = 'trainer.json';
/** The tensor files of folders written before they were named per step. */
const LEGACY_FILES = { weights: 'weights.safetensors', optimizer: 'optimizer.safetensors' };
/** Tensor files of any step, and the temporary files a killed save leaves (write-file-atomic adds a hex suffix). */
const STALE_FILE = /^((weights|optimizer)(-\d+)?\.safetensors|trainer\.json\.[0-9a-f]+)(\.[0-9a-f]+)?$/;

/**
 * Writes a checkpoint so that the folder holds one complete checkpoint whenever the process dies:
 * step s's tensors go to weights-<s>.safetensors and optimizer-<s>.safetensors, each written
 * under a temporary name, synced and renamed; then trainer.json, which names them, is replaced
 * the same way; only then are the files of earlier checkpoints (and temporary files of killed
 * saves) removed. Dying before that rename leaves the previous trainer.json and the files it
 * names untouched.
 */
export function saveCheckpoint(dir: string, c: Checkpoint): void {
  mkdirSync(dir, { recursive: true });
  const files = { weights: `weights-${c.meta.step}.safetensors`, optimizer: `optimizer-${c.meta.step}.safetensors` };
  const step = { step: String(c.meta.step) };
  saveSafetensors(join(dir, files.weights), c.weights, step);
  saveSafetensors(join(dir, files.optimizer), c.optimizer, step);
  writeFileAtomic.sync(join(dir, META), JSON.stringify({ ...c.meta, files }, null, 2));
  for (const f of readdirSync(dir)) {
    if (STALE_FILE.test(f) && f !== files.weights && f !== files.optimizer) rmSync(join(dir, f), { force: true });
  }
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, META));
}

/** Reads the checkpoint trainer.json names; throws if its tensor files belong to another step. */
export function loadCheckpoint(dir: string): Checkpoint {
  const meta = checkpointMetaSchema.parse(JSON.parse(readFileSync(join(dir, META), 'utf8')));
  const files = meta.files ?? LEGACY_FILES;
  const read = (file: string) => {
    const f = loadSafetensors(join(dir, file));
    const step = f.metadata?.step;
    if (step !== undefined && step !== String(meta.step)) {
      throw new Error(`Checkpoint ${dir} is inconsistent: ${META} is at step ${meta.step} but ${file} holds step ${step} (a save was interrupted)`);
    }
    return f.tensors;
  };
  return { meta, weights: read(files.weights), optimizer: read(files.optimizer) };
}
