import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskImageStorage, ImageNotFoundError, InvalidImageKeyError, sha256Hex } from '@vca/shared';

function png(value: number): Uint8Array {
  const canvas = createCanvas(4, 4);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = `rgb(${value}, ${value}, ${value})`;
  ctx.fillRect(0, 0, 4, 4);
  return canvas.toBuffer('image/png');
}

describe(DiskImageStorage.name, () => {
  let dir: string;
  let storage: DiskImageStorage;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vca-storage-'));
    storage = new DiskImageStorage(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('stores bytes under <sha256>.png fanned out by the first two hex digits', async () => {
    const bytes = png(10);
    const stored = await storage.put(bytes);
    expect(stored.contentHash).toBe(sha256Hex(bytes));
    expect(stored.key).toBe(`${stored.contentHash}.png`);
    expect(stored.created).toBe(true);
    expect(storage.pathOf(stored.key)).toBe(join(dir, stored.key.slice(0, 2), stored.key));
    expect(Buffer.compare(await storage.get(stored.key), Buffer.from(bytes))).toBe(0);
  });

  it('storing the same bytes twice is a no-op and leaves no temporary files', async () => {
    const bytes = png(20);
    const [a, b] = await Promise.all([storage.put(bytes), storage.put(bytes)]);
    expect(a.key).toBe(b.key);
    expect((await storage.put(bytes)).created).toBe(false);
    const files = await readdir(join(dir, a.key.slice(0, 2)));
    expect(files).toEqual([a.key]);
  });

  it('rejects keys that are not content addresses (no path traversal)', async () => {
    await expect(storage.get('../../etc/passwd')).rejects.toBeInstanceOf(InvalidImageKeyError);
    await expect(storage.get(`${'A'.repeat(64)}.png`)).rejects.toBeInstanceOf(InvalidImageKeyError);
  });

  it('reports a missing image and deletes idempotently', async () => {
    const stored = await storage.put(png(30));
    expect(await storage.delete(stored.key)).toBe(true);
    expect(await storage.delete(stored.key)).toBe(false);
    expect(await storage.has(stored.key)).toBe(false);
    await expect(storage.get(stored.key)).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  it('refuses bytes that are not a PNG', async () => {
    await expect(storage.put(new Uint8Array([1, 2, 3]))).rejects.toThrow(/not a PNG/);
  });
});
