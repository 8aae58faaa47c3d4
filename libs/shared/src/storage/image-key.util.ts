import { createHash } from 'node:crypto';
import { InvalidImageKeyError } from './image-storage.interface';

/** A key is exactly a sha256 in lower-case hex plus `.png`, which also rules out path traversal. */
export const IMAGE_KEY_PATTERN = /^[0-9a-f]{64}\.png$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function imageKeyFor(contentHash: string): string {
  return `${contentHash}.png`;
}

export function assertImageKey(key: string): void {
  if (!IMAGE_KEY_PATTERN.test(key)) throw new InvalidImageKeyError(key);
}

/** Relative path of a key: fanned out by its first two hex digits so no directory grows huge. */
export function imageKeyPath(key: string): string {
  assertImageKey(key);
  return `${key.slice(0, 2)}/${key}`;
}
