import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors, hasCheckpoint, loadCheckpoint, saveCheckpoint, saveSafetensors, type Checkpoint } from '@vca/ml';

function checkpointAt(step: number, n = 4): Checkpoint {
  const t = (v: number) => ({ dtype: 'float32' as const, dims: [n], data: new Float32Array(n).fill(v) });
  return {
    meta: { version: 1, step, optimizerStep: step, rngState: 7 * step, trainable: ['w'], config: { lr: 1 } },
    weights: new Map([['w', t(step)]]),
    optimizer: new Map([['m.w', t(step)], ['v.w', t(-step)]]),
  };
}

const valuesOf = (c: Checkpoint, name: string) => Array.from(((c.weights.get(name) ?? c.optimizer.get(name))!.data as Float32Array));

describe('checkpoint store', () => {
  it('keeps one complete checkpoint: files of earlier and of interrupted saves are ignored, then removed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-ckpt-store-'));
    saveCheckpoint(dir, checkpointAt(10));
    saveCheckpoint(dir, checkpointAt(20));
    expect(readdirSync(dir).sort()).toEqual(['optimizer-20.safetensors', 'trainer.json', 'weights-20.safetensors']);
    // A save of step 30 that died after writing its weights (and half of its optimizer state).
    saveSafetensors(join(dir, 'weights-30.safetensors'), checkpointAt(30).weights, { step: '30' });
    writeFileSync(join(dir, 'optimizer-30.safetensors.0123abcd'), encodeSafetensors(checkpointAt(30).optimizer).subarray(0, 20));
    writeFileSync(join(dir, 'trainer.json.89ef'), '{"version": 1, "st');
    const loaded = loadCheckpoint(dir);
    expect(loaded.meta.step).toBe(20);
    expect(valuesOf(loaded, 'w')).toEqual([20, 20, 20, 20]);
    expect(valuesOf(loaded, 'v.w')).toEqual([-20, -20, -20, -20]);
    saveCheckpoint(dir, checkpointAt(40));
    expect(readdirSync(dir).sort()).toEqual(['optimizer-40.safetensors', 'trainer.json', 'weights-40.safetensors']);
    expect(loadCheckpoint(dir).meta).toMatchObject({ step: 40, files: { weights: 'weights-40.safetensors' } });
  });

  it('reads folders from before per-step file names, and refuses one whose files belong to another step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-ckpt-legacy-'));
    const c = checkpointAt(5);
    saveSafetensors(join(dir, 'weights.safetensors'), c.weights, { step: '5' });
    saveSafetensors(join(dir, 'optimizer.safetensors'), c.optimizer, { step: '5' });
    writeFileSync(join(dir, 'trainer.json'), JSON.stringify(c.meta));
    expect(valuesOf(loadCheckpoint(dir), 'm.w')).toEqual([5, 5, 5, 5]);
    // The old layout overwrote its tensor files in place: a save killed before trainer.json paired step 6's weights with step 5's record.
    saveSafetensors(join(dir, 'weights.safetensors'), checkpointAt(6).weights, { step: '6' });
    expect(() => loadCheckpoint(dir)).toThrow(/inconsistent: trainer.json is at step 5 but weights.safetensors holds step 6/);
    // The next save replaces the legacy files.
    saveCheckpoint(dir, checkpointAt(7));
    expect(readdirSync(dir).sort()).toEqual(['optimizer-7.safetensors', 'trainer.json', 'weights-7.safetensors']);
  });

  it('refuses a trainer.json that names files outside its folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-ckpt-path-'));
    saveCheckpoint(dir, checkpointAt(1));
    writeFileSync(join(dir, 'trainer.json'), JSON.stringify({ ...checkpointAt(1).meta, files: { weights: '../weights-1.safetensors', optimizer: 'optimizer-1.safetensors' } }));
    expect(() => loadCheckpoint(dir)).toThrow(/file name inside the checkpoint folder/);
  });

  it('loads a consistent checkpoint after the writing process is killed at any moment', async () => {
    for (const delayMs of [40, 170, 330]) {
      const dir = mkdtempSync(join(tmpdir(), 'vca-ckpt-kill-'));
      const child = spawn(process.execPath, ['-r', '@swc-node/register', resolve(__dirname, 'checkpoint-writer.child.ts'), dir], { stdio: 'ignore' });
      let dead = false;
      const exited = new Promise((r) => child.once('exit', () => r((dead = true))));
      while (!hasCheckpoint(dir)) {
        if (dead) throw new Error('the checkpoint writer exited before its first checkpoint');
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await exited;
      const c = loadCheckpoint(dir);
      const step = c.meta.step;
      expect(step).toBeGreaterThanOrEqual(1);
      for (const name of ['w', 'm.w', 'v.w']) {
        const data = (c.weights.get(name) ?? c.optimizer.get(name))!.data as Float32Array;
        expect(data.length).toBe(2 * 1024 * 1024);
        expect(data[0]).toBe(step);
        expect(data[data.length - 1]).toBe(step);
      }
      expect(existsSync(join(dir, `weights-${step}.safetensors`))).toBe(true);
      // The next save leaves only its own files, whatever the killed one left behind.
      saveCheckpoint(dir, checkpointAt(step + 1));
      expect(readdirSync(dir).sort()).toEqual([`optimizer-${step + 1}.safetensors`, 'trainer.json', `weights-${step + 1}.safetensors`]);
    }
  }, 60_000);
});
