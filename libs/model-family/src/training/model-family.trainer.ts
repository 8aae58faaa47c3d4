import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCheckpoint, loadCheckpoint, loadModel, type TensorData } from '@vca/ml';
import { buildTokenizer } from '@vca/world';
import { exportModelFamily } from '../export/model-exporter';
import { exportedDualWeights } from '../export/exported-dual-weights.util';
import { ModelFamilyConfigSchema, TINY_CONFIG, type ModelFamilyConfig } from '../model-family.config';
import { worldTokenizer } from '../data/scene-data.util';
import { createDiffusionTrainer, diffusionBatcher } from './diffusion.stage';
import { createDualTrainer, dualBatcher } from './dual.stage';
import { createParserTrainer, parserBatcher } from './parser.stage';
import { parserAccuracy } from '../eval/parser.eval';
import { readStageState, runStage, warmStart, warmStartFromExport, type StageResult, type StageState } from './stage-runner';
import type { TrainArgs } from '../cli/train-args.util';

/** A preset, with an optional JSON override merged one level deep (sections such as `unet` merge their fields). */
export function presetConfig(preset: 'default' | 'tiny', overrideJson?: string): ModelFamilyConfig {
  const base = ModelFamilyConfigSchema.parse(preset === 'tiny' ? TINY_CONFIG : {});
  if (!overrideJson) return base;
  const override = JSON.parse(overrideJson) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    const b = merged[k];
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' ? { ...b, ...v } : v;
  }
  return ModelFamilyConfigSchema.parse(merged);
}

/**
 * Where a warm-started UNet came from: when --init-from names an exported model, that model's own
 * training record is kept (under `warmStart`; for a checkpoint folder, its stage record), so a
 * model trained in phases records every phase and not only the last run's steps.
 */
export function warmStartLineage(initFrom: string | undefined): { warmStart?: { from: string; training: unknown } } {
  if (!initFrom) return {};
  const record = join(initFrom, 'model_family.json');
  const training = isExportedModel(initFrom) && existsSync(record) ? ((JSON.parse(readFileSync(record, 'utf8')) as { training?: unknown }).training ?? null) : (readStageState(initFrom) ?? null);
  return { warmStart: { from: initFrom, training } };
}

/** --init-from names an exported model folder (its UNet is there), not a stage checkpoint folder. */
function isExportedModel(dir: string): boolean {
  return existsSync(join(dir, 'unet', 'model.onnx'));
}

/** Weights of a stage checkpoint keyed by parameter name: the EMA shadow (what ships) or the current weights. */
export function checkpointWeights(dir: string, which: 'ema' | 'current' = 'ema'): Map<string, TensorData> {
  const c = loadCheckpoint(dir);
  const out = new Map<string, TensorData>();
  for (const [k, t] of c.weights) {
    if (which === 'ema' && k.startsWith('ema.')) out.set(k.slice(4), t);
    if (which === 'current' && !k.startsWith('ema.')) out.set(k, t);
  }
  return out.size ? out : c.weights;
}

/**
 * `model:train`: the dual encoder and the text encoder + UNet are independent stages (each
 * checkpointed under `work/<stage>` and resumable); `export` writes whatever the stages hold.
 */
export class ModelFamilyTrainer {
  readonly config: ModelFamilyConfig;

  constructor(
    private readonly args: TrainArgs,
    private readonly log: (line: string) => void = (l) => console.log(l),
  ) {
    this.config = presetConfig(args.preset, args.configJson);
  }

  private dirs() {
    return { dual: join(this.args.work, 'dual'), parser: join(this.args.work, 'parser'), unet: join(this.args.work, 'unet') };
  }

  async trainDual(): Promise<StageResult> {
    const a = this.args;
    const tokenizer = worldTokenizer();
    const vocab = buildTokenizer().vocabSize;
    const h = { lr: a.dualLr, steps: a.dualSteps, warmupSteps: Math.min(100, Math.floor(a.dualSteps / 10)), emaDecay: 0.995, threads: a.threads, seed: a.seed };
    const trainer = await createDualTrainer(this.config, tokenizer, vocab, a.dualBatch, h);
    try {
      return await runStage(trainer, { name: 'dual', steps: a.dualSteps, batch: dualBatcher(this.config, a.seed, a.dualBatch, tokenizer), workDir: this.dirs().dual, checkpointEvery: a.checkpointEvery, maxMinutes: a.maxMinutes, log: this.log });
    } finally {
      await trainer.release();
    }
  }

  async trainParser(): Promise<StageResult & { heldoutExact: number }> {
    const a = this.args;
    const tokenizer = worldTokenizer();
    const vocab = buildTokenizer().vocabSize;
    const h = { lr: a.parserLr, steps: a.parserSteps, warmupSteps: Math.min(100, Math.floor(a.parserSteps / 10)), emaDecay: 0.99, threads: a.threads, seed: a.seed };
    const trainer = await createParserTrainer(this.config, tokenizer, vocab, a.dualBatch, h);
    try {
      const result = await runStage(trainer, { name: 'parser', steps: a.parserSteps, batch: parserBatcher(a.seed, a.dualBatch, tokenizer), workDir: this.dirs().parser, checkpointEvery: a.checkpointEvery, maxMinutes: a.maxMinutes, log: this.log });
      const accuracy = await parserAccuracy(this.config, checkpointWeights(this.dirs().parser, 'ema'), { seed: a.seed, count: 500, threads: a.threads });
      this.log(`[parser] held-out prompts read exactly: ${(100 * accuracy.exact).toFixed(1)}% of ${accuracy.count}`);
      return { ...result, heldoutExact: accuracy.exact };
    } finally {
      await trainer.release();
    }
  }

  async trainUnet(): Promise<StageResult> {
    const a = this.args;
    const tokenizer = worldTokenizer();
    const vocab = buildTokenizer().vocabSize;
    const h = { lr: a.lr, steps: a.unetSteps, warmupSteps: Math.min(200, Math.floor(a.unetSteps / 10)), emaDecay: 0.998, threads: a.threads, seed: a.seed, replicas: a.replicas };
    let frozenText: Map<string, TensorData> | undefined;
    if (this.config.textEncoder === 'parser') {
      frozenText = this.parserWeights('ema');
      if (!frozenText) throw new Error(`[unet] textEncoder "parser" needs the parser stage first (no checkpoint in ${this.dirs().parser}, no --parser-from)`);
    } else if (this.config.textEncoder === 'dual') {
      frozenText = this.dualWeights('ema');
      if (!frozenText) throw new Error(`[unet] textEncoder "dual" needs the dual stage first (no checkpoint in ${this.dirs().dual}, no --dual-from)`);
    }
    const trainer = await createDiffusionTrainer(this.config, tokenizer, vocab, a.batch, h, frozenText);
    this.log(`[unet] ${[...trainer.params.values()].reduce((s, p) => s + p.length, 0)} trainable parameters (${frozenText ? `UNet; text encoder = frozen ${this.config.textEncoder}` : 'text encoder + UNet'})`);
    try {
      if (a.initFrom && !hasCheckpoint(this.dirs().unet)) {
        const fresh = isExportedModel(a.initFrom) ? warmStartFromExport(trainer, a.initFrom) : warmStart(trainer, a.initFrom);
        this.log(`[unet] warm start from ${a.initFrom} at step ${trainer.step}; new tensors: ${fresh.join(', ') || 'none'}`);
      }
      const batch = diffusionBatcher({ config: this.config, seed: a.seed, batch: a.batch, tokenizer });
      return await runStage(trainer, { name: 'unet', steps: a.unetSteps, batch, workDir: this.dirs().unet, checkpointEvery: a.checkpointEvery, maxMinutes: a.maxMinutes, log: this.log });
    } finally {
      await trainer.release();
    }
  }

  /** The prompt parser's weights: the parser stage's checkpoint, else the export named by --parser-from. */
  private parserWeights(which: 'ema' | 'current'): Map<string, TensorData> | undefined {
    if (hasCheckpoint(this.dirs().parser)) return checkpointWeights(this.dirs().parser, which);
    return this.args.parserFrom ? loadModel(join(this.args.parserFrom, 'text_encoder', 'model.onnx')).initializers : undefined;
  }

  /** The dual encoder's weights: the dual stage's checkpoint, else the export named by --dual-from. */
  private dualWeights(which: 'ema' | 'current'): Map<string, TensorData> | undefined {
    if (hasCheckpoint(this.dirs().dual)) return checkpointWeights(this.dirs().dual, which);
    return this.args.dualFrom ? exportedDualWeights(this.args.dualFrom) : undefined;
  }

  /**
   * Writes the export from the stages' EMA weights; a stage without a checkpoint exports its seeded
   * init. The record names, per stage, this run's result or else what its checkpoint says it
   * trained, so a standalone `--stage export` does not leave only its own (default) step counts.
   */
  export(results: Record<string, StageResult | StageState | undefined> = {}): void {
    const d = this.dirs();
    const stages = Object.fromEntries(Object.entries(d).map(([name, dir]) => [name, results[name] ?? readStageState(dir)]).filter(([, r]) => r));
    const built = buildTokenizer();
    exportModelFamily(this.args.out, {
      config: this.config,
      vocabSize: built.vocabSize,
      maxLength: built.maxLength,
      diffusionWeights: hasCheckpoint(d.unet) ? checkpointWeights(d.unet, this.args.weights) : undefined,
      parserWeights: this.parserWeights(this.args.weights),
      dualWeights: this.dualWeights(this.args.weights),
      training: { seed: this.args.seed, preset: this.args.preset, args: { ...this.args, work: undefined }, stages, ...warmStartLineage(this.args.initFrom) },
    });
    this.log(`exported to ${this.args.out}`);
  }

  async run(): Promise<void> {
    const stage = this.args.stage;
    const results: Record<string, StageResult | undefined> = {};
    if (stage === 'dual' || stage === 'all') results.dual = await this.trainDual();
    if ((stage === 'parser' || stage === 'all') && this.config.textEncoder === 'parser') results.parser = await this.trainParser();
    if (stage === 'unet' || stage === 'text' || stage === 'all') results.unet = await this.trainUnet();
    if (stage === 'export' || stage === 'all') this.export(results);
  }
}
