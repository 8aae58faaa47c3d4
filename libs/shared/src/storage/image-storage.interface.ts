/** Where generated and uploaded images live. Keys are content addresses: `<sha256 hex>.png`. */
export interface StoredImage {
  key: string;
  /** sha256 of the bytes, lower-case hex. */
  contentHash: string;
  /** False when identical bytes were already stored (the put was a no-op). */
  created: boolean;
}

export interface ImageStorage {
  /** Stores PNG bytes under their content address; storing the same bytes twice is a no-op. */
  put(png: Uint8Array): Promise<StoredImage>;
  /** The bytes stored under `key`; throws ImageNotFoundError when absent. */
  get(key: string): Promise<Buffer>;
  has(key: string): Promise<boolean>;
  /** Removes the image (moderation); returns false when it was not there. */
  delete(key: string): Promise<boolean>;
}

export class ImageNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`image ${key} not found`);
    this.name = 'ImageNotFoundError';
  }
}

export class InvalidImageKeyError extends Error {
  constructor(readonly key: string) {
    super(`invalid image key ${JSON.stringify(key)}: expected <sha256 hex>.png`);
    this.name = 'InvalidImageKeyError';
  }
}
