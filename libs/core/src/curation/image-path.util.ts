import { imageKeyPath } from '@vca/shared';

/**
 * Where a content-addressed image lives on disk: storage key `<sha256>.png` is stored at
 * `<imageDir>/<key[0..2]>/<key>` — the layout of @vca/shared's DiskImageStorage, whose
 * `imageKeyPath` also rejects anything that is not a valid key (no path traversal in exports).
 */
export function imagePathFor(imageDir: string, storageKey: string): string {
  return `${imageDir.replace(/[\\/]+$/, '')}/${imageKeyPath(storageKey)}`;
}
