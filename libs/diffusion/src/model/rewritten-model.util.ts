import { linkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DiffusionModelError } from './diffusion-model.error';

export interface RewrittenModelFile {
  path: string;
  dispose(): void;
}

/** Copies not disposed yet; removed when the process exits, so a forgotten dispose leaves no files. */
const live = new Set<string>();
let exitHookInstalled = false;

function track(target: string, remove: () => void): RewrittenModelFile['dispose'] {
  live.add(target);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => live.forEach((p) => rmSync(p, { recursive: true, force: true })));
  }
  return () => {
    live.delete(target);
    remove();
  };
}

/**
 * Writes a rewritten copy of an ONNX model whose weights may live in external-data files.
 * ONNX Runtime only reads external data inside the model file's own folder and resolves
 * symlinks before checking, so the copy goes (1) to a private temp folder with hard links to
 * the weight files, or (2) when that crosses file systems, next to the original under a hidden
 * unique name. `dispose` removes it.
 */
export function writeRewrittenModel(originalPath: string, model: Uint8Array, externalLocations: readonly string[]): RewrittenModelFile {
  for (const loc of externalLocations) {
    if (loc.includes('..')) throw new DiffusionModelError('UNSUPPORTED_CONFIG', `${originalPath}: external data location ${loc} leaves the model folder`);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'vca-onnx-'));
  try {
    for (const loc of externalLocations) linkSync(join(dirname(originalPath), loc), join(workDir, loc));
    const path = join(workDir, basename(originalPath));
    writeFileSync(path, model);
    return { path, dispose: track(workDir, () => rmSync(workDir, { recursive: true, force: true })) };
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    if (!externalLocations.length) throw err;
  }
  const path = join(dirname(originalPath), `.${basename(originalPath, '.onnx')}.vca-${process.pid}-${Date.now().toString(36)}.onnx`);
  try {
    writeFileSync(path, model);
  } catch (err) {
    throw new DiffusionModelError(
      'UNSUPPORTED_CONFIG',
      `cannot write a rewritten copy next to ${originalPath} (its weights are external data on another file system): ${(err as Error).message}`,
    );
  }
  return { path, dispose: track(path, () => rmSync(path, { force: true })) };
}

/** External-data file names referenced by a model's initializers. */
export function externalLocationsOf(initializers: readonly { externalData?: { key?: string | null; value?: string | null }[] | null }[]): string[] {
  const out = new Set<string>();
  for (const init of initializers) for (const e of init.externalData ?? []) if (e.key === 'location' && e.value) out.add(e.value);
  return [...out];
}
