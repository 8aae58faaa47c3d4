import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { loadSafetensors, saveSafetensors, type TensorData } from '@vca/ml';
import type { RewardHeadWeights } from '../head/reward-head.session';
import type { TowerLora } from './image-feature.graph';

/**
 * A reward version on disk (one folder, never changed once written):
 *   reward.json              manifest (below), written last: a folder without it is incomplete
 *   head.safetensors         the head (`head.*`) and its frozen style normalisation (`norm.*`)
 *   tower_lora.safetensors   the image tower's conv LoRA, when the version adapted the tower
 */
export const REWARD_MANIFEST = 'reward.json';
export const RewardManifestSchema = z.object({
  format: z.literal('vca-reward/1'),
  dims: z.object({ styleDim: z.number().int().positive(), embedDim: z.number().int().positive(), hidden: z.number().int().positive() }),
  gramTaps: z.number().int().min(0),
  tower: z.object({ rank: z.number().int().min(0), alpha: z.number().positive() }).nullable(),
  /** sha256 of the encoder files it was trained on: features from other encoders are meaningless. */
  encoder: z.object({ imageEncoderSha256: z.string(), textEncoderSha256: z.string() }),
  beta: z.number().positive(),
  /** Whether it was trained as DPO against a reference version or Bradley–Terry from scratch. */
  objective: z.enum(['bradley_terry', 'dpo']),
  trainedAt: z.string(),
  metrics: z.record(z.string(), z.number()).default({}),
});
export type RewardManifest = z.infer<typeof RewardManifestSchema>;

export interface RewardVersion {
  manifest: RewardManifest;
  head: RewardHeadWeights;
  tower: TowerLora | null;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function encoderFingerprint(imageEncoderPath: string, textEncoderPath: string): RewardManifest['encoder'] {
  return { imageEncoderSha256: sha256File(imageEncoderPath), textEncoderSha256: sha256File(textEncoderPath) };
}

export function saveRewardVersion(dir: string, version: RewardVersion): void {
  mkdirSync(dir, { recursive: true });
  saveSafetensors(join(dir, 'head.safetensors'), new Map(version.head.tensors));
  if (version.tower?.tensors) saveSafetensors(join(dir, 'tower_lora.safetensors'), new Map(version.tower.tensors));
  writeFileAtomic.sync(join(dir, REWARD_MANIFEST), JSON.stringify(version.manifest, null, 2) + '\n');
}

export function isCompleteRewardVersion(dir: string): boolean {
  return existsSync(join(dir, REWARD_MANIFEST));
}

export function loadRewardVersion(dir: string): RewardVersion {
  const manifestPath = join(dir, REWARD_MANIFEST);
  if (!existsSync(manifestPath)) throw new Error(`${dir} is not a complete reward version (no ${REWARD_MANIFEST})`);
  const manifest = RewardManifestSchema.parse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  const head = loadSafetensors(join(dir, 'head.safetensors'));
  const tensors = new Map<string, TensorData>(head.tensors);
  let tower: TowerLora | null = null;
  if (manifest.tower) {
    const lora = loadSafetensors(join(dir, 'tower_lora.safetensors'));
    tower = { ...manifest.tower, tensors: new Map(lora.tensors) };
  }
  return { manifest, head: { dims: manifest.dims, tensors }, tower };
}
