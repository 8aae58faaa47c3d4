import { z } from 'zod';
import { hashString } from '../util/rng.util';
import { specKey, type SceneSpec } from '../scene/scene.schema';

export const SPLITS = ['train', 'val', 'test'] as const;
export const SplitSchema = z.enum(SPLITS);
export type Split = z.infer<typeof SplitSchema>;

/**
 * The split a scene belongs to, from a hash of its named attributes (order-free): 90% train,
 * 5% val, 5% test. Held out by content, not only by sampling seed, so no test prompt's
 * composition (shapes, colours, sizes, cells, background) ever appears in training.
 */
export function splitOf(spec: SceneSpec): Split {
  const bucket = hashString(`split:${specKey(spec)}`) % 100;
  return bucket < 90 ? 'train' : bucket < 95 ? 'val' : 'test';
}
