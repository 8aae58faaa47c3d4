/**
 * Child process for checkpoint.spec.ts: saves checkpoints of steps 1, 2, 3, … into argv[2] until
 * it is killed. Every tensor of step s holds the value s, so a reader can tell whether the files
 * it loaded belong to the step trainer.json names.
 */
import { saveCheckpoint } from '../src/training/checkpoint.store';

const dir = process.argv[2]!;
const floats = 2 * 1024 * 1024; // 8 MB per tensor file: long enough to be killed mid-write
for (let step = 1; ; step++) {
  const filled = (v: number) => ({ dtype: 'float32' as const, dims: [floats], data: new Float32Array(floats).fill(v) });
  saveCheckpoint(dir, {
    meta: { version: 1, step, optimizerStep: step, rngState: step, trainable: ['w'], config: {} },
    weights: new Map([['w', filled(step)]]),
    optimizer: new Map([['m.w', filled(step)], ['v.w', filled(step)]]),
  });
}
