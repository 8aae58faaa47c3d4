import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { hasCheckpoint, loadCheckpoint, loadModel, Rng, type Trainer } from '@vca/ml';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';

export interface StageOptions {
  /** Stage name, used in progress lines. */
  name: string;
  /** Total optimizer steps of the stage (a resumed run continues up to it). */
  steps: number;
  batch: (step: number, rng: Rng) => Record<string, ort.Tensor>;
  /** Checkpoint folder; an existing checkpoint there is resumed. */
  workDir: string;
  checkpointEvery: number;
  /** Stop (after a checkpoint) once this much wall time has passed in this process. */
  maxMinutes?: number;
  logEvery?: number;
  log?: (line: string) => void;
}

export interface StageResult {
  step: number;
  steps: number;
  /** Wall seconds summed over every run of the stage (resumes included). */
  wallSeconds: number;
  /** Mean loss over the last `logEvery` steps. */
  recentLoss: number;
  finished: boolean;
}

const StageStateSchema = z.object({ wallSeconds: z.number().nonnegative(), step: z.number().int().nonnegative() });
export type StageState = z.infer<typeof StageStateSchema>;

/** Where a stage's checkpoint folder records what it trained. */
const stateFile = (workDir: string) => join(workDir, 'stage.json');

/** What a stage's checkpoint folder says it trained (step reached, wall seconds over all runs); undefined without one. */
export function readStageState(workDir: string): StageState | undefined {
  const statePath = stateFile(workDir);
  return existsSync(statePath) ? StageStateSchema.parse(JSON.parse(readFileSync(statePath, 'utf8'))) : undefined;
}

/**
 * Runs a Trainer for a stage with progress lines, periodic checkpoints (weights, AdamW moments,
 * EMA, RNG state, via @vca/ml) and resume: killing the process and starting it again continues
 * from the last checkpoint exactly.
 */
export async function runStage(trainer: Trainer, o: StageOptions): Promise<StageResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const logEvery = o.logEvery ?? 20;
  mkdirSync(o.workDir, { recursive: true });
  const statePath = stateFile(o.workDir);
  let previousWall = 0;
  if (hasCheckpoint(o.workDir)) {
    trainer.loadCheckpoint(o.workDir);
    previousWall = readStageState(o.workDir)?.wallSeconds ?? 0;
    log(`[${o.name}] resumed at step ${trainer.step}/${o.steps}`);
  }
  const started = performance.now();
  const firstStep = trainer.step;
  const wall = () => previousWall + (performance.now() - started) / 1000;
  const save = () => {
    trainer.saveCheckpoint(o.workDir);
    writeFileAtomic.sync(statePath, JSON.stringify({ wallSeconds: wall(), step: trainer.step }));
  };
  let window: number[] = [];
  let recentLoss = Number.NaN;
  while (trainer.step < o.steps) {
    const r = await trainer.trainStep(o.batch(trainer.step, trainer.rng));
    // The trainer skips a non-finite step (weights untouched) and throws after too many in a row.
    if (r.skipped) log(`[${o.name}] step ${r.step}: loss ${r.loss}, |g| ${r.gradNorm} not finite; update skipped`);
    else window.push(r.loss);
    if (r.step % logEvery === 0 || r.step === o.steps) {
      recentLoss = window.length ? window.reduce((a, b) => a + b, 0) / window.length : Number.NaN;
      window = [];
      const elapsed = (performance.now() - started) / 1000;
      const rate = (trainer.step - firstStep) / elapsed;
      const eta = (o.steps - trainer.step) / rate;
      log(`[${o.name}] step ${r.step}/${o.steps} loss ${recentLoss.toFixed(4)} lr ${r.lr.toExponential(2)} |g| ${r.gradNorm.toFixed(2)} ${rate.toFixed(2)} steps/s eta ${(eta / 60).toFixed(1)} min`);
    }
    if (r.step % o.checkpointEvery === 0) save();
    if (o.maxMinutes !== undefined && (performance.now() - started) / 60000 >= o.maxMinutes) {
      log(`[${o.name}] time budget of ${o.maxMinutes} min reached at step ${trainer.step}`);
      break;
    }
  }
  if (window.length) recentLoss = window.reduce((a, b) => a + b, 0) / window.length;
  save();
  return { step: trainer.step, steps: o.steps, wallSeconds: wall(), recentLoss, finished: trainer.step >= o.steps };
}

/**
 * Starts a trainer from another run's checkpoint when the graph has gained parameters since
 * (the ml Trainer's own loadCheckpoint requires every trainable tensor): known tensors, their
 * AdamW moments and EMA shadows, step and RNG state are taken over; new tensors keep their
 * initial values, zero moments, and an EMA equal to themselves. Returns the names that were new.
 */
export function warmStart(trainer: Trainer, dir: string): string[] {
  const c = loadCheckpoint(dir);
  const fresh: string[] = [];
  for (const [name, p] of trainer.params) {
    const w = c.weights.get(name);
    if (w) p.set(w.data as Float32Array);
    else fresh.push(name);
    const shadow = c.weights.get(`ema.${name}`);
    trainer.ema?.setShadow(name, shadow ? (shadow.data as Float32Array) : p);
  }
  trainer.optimizer.loadState(c.optimizer, c.meta.optimizerStep);
  trainer.step = c.meta.step;
  trainer.rng = Rng.fromState(c.meta.rngState);
  return fresh;
}

/**
 * Starts a trainer from an exported model's weights (`<dir>/unet/model.onnx`, the EMA weights that
 * shipped) when no training checkpoint of it is left: known tensors take the exported values (and
 * so do their EMA shadows); AdamW moments start at zero and the step count at 0, so the run's
 * learning-rate schedule starts afresh. Returns the names that were new.
 */
export function warmStartFromExport(trainer: Trainer, modelDir: string): string[] {
  const exported = loadModel(join(modelDir, 'unet', 'model.onnx')).initializers;
  const fresh: string[] = [];
  for (const [name, p] of trainer.params) {
    const w = exported.get(name);
    if (w && w.data.length === p.length) p.set(w.data as Float32Array);
    else fresh.push(name);
    trainer.ema?.setShadow(name, p);
  }
  return fresh;
}
