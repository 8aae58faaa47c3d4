import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ImageNotFoundError, type ImageStorage, type StoredImage } from './image-storage.interface';
import { imageKeyFor, imageKeyPath, sha256Hex } from './image-key.util';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Content-addressed images on a local (or shared, e.g. NFS/volume) disk at
 * `<imageDir>/<key[0..2]>/<key>`. Writes go to a temporary file in the same directory and are
 * renamed into place: rename(2) is atomic within a file system, so readers never see half a PNG
 * and two workers writing the same image race harmlessly.
 */
export class DiskImageStorage implements ImageStorage {
  readonly root: string;

  constructor(imageDir: string) {
    this.root = resolve(imageDir);
  }

  pathOf(key: string): string {
    return join(this.root, imageKeyPath(key));
  }

  async put(png: Uint8Array): Promise<StoredImage> {
    const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
    if (bytes.length < PNG_SIGNATURE.length || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
      throw new Error('DiskImageStorage.put: bytes are not a PNG (bad signature)');
    }
    const contentHash = sha256Hex(bytes);
    const key = imageKeyFor(contentHash);
    const path = this.pathOf(key);
    if (await this.has(key)) return { key, contentHash, created: false };
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, bytes, { flag: 'wx' });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { key, contentHash, created: true };
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageNotFoundError(key);
      throw err;
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(key));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }
}
