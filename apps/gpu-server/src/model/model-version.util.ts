import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

/**
 * A stable id for the weights in a model directory, stored on every image row: the directory
 * name plus a digest of its configs and the sizes of its weight files. Hashing the weights
 * themselves would read gigabytes at every boot; configs + sizes change whenever weights are
 * re-exported or fine-tuned into a new directory.
 */
export function modelVersionOf(dir: string): string {
  const root = resolve(dir);
  const hash = createHash('sha256');
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else if (/\.(json|txt)$/.test(entry.name)) hash.update(path).update(readFileSync(join(root, path)));
      else if (/\.(onnx|onnx_data|safetensors|bin)$/.test(entry.name)) hash.update(`${path}:${statSync(join(root, path)).size}`);
    }
  };
  if (existsSync(root)) walk('');
  return `${basename(root)}-${hash.digest('hex').slice(0, 12)}`;
}
