/**
 * Where a content-addressed image lives on disk: storage key `<sha256>.png` is stored at
 * `<imageDir>/<key[0..2]>/<key>` (two-character fan-out keeps directories small).
 */
export function imagePathFor(imageDir: string, storageKey: string): string {
  if (storageKey.length < 2 || storageKey.includes('/') || storageKey.includes('\\')) {
    throw new Error(`invalid storage key: ${JSON.stringify(storageKey)}`);
  }
  const dir = imageDir.replace(/[\\/]+$/, '');
  return `${dir}/${storageKey.slice(0, 2)}/${storageKey}`;
}
