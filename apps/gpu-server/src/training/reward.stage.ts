import { Inject, Injectable, Logger } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  ModelVersionService,
  buildPreferencePairs,
  communityKey,
  mismatchedNegatives,
  pairTrainingWeights,
  splitByDialogue,
  type PreferencePair,
  type TrainingStage,
  type TrainingStageContext,
  type TrainingStageOutcome,
} from '@vca/core';
import { decodePng } from '@vca/diffusion';
import {
  findRewardEncoders,
  isCompleteRewardVersion,
  loadRewardVersion,
  saveRewardVersion,
  trainRewardModel,
  type ImageSource,
  type IndexedPair,
  type RewardVersion,
} from '@vca/reward';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';

/** Pairs over indexed prompts and images, and what the indices stand for. */
interface IndexedPairs {
  prompts: string[];
  paths: string[];
  train: IndexedPair[];
  heldOut: IndexedPair[];
  /** Pairs left out because an image file is gone (deleted by a moderator). */
  missing: number;
}

function indexPairs(train: readonly PreferencePair[], trainWeights: readonly number[], heldOut: readonly PreferencePair[]): IndexedPairs {
  const prompts = new Map<string, number>();
  const paths = new Map<string, number>();
  const present = new Map<string, boolean>();
  const idx = (m: Map<string, number>, k: string) => {
    let i = m.get(k);
    if (i === undefined) m.set(k, (i = m.size));
    return i;
  };
  const exists = (p: string) => {
    let e = present.get(p);
    if (e === undefined) present.set(p, (e = existsSync(p)));
    return e;
  };
  let missing = 0;
  const convert = (list: readonly PreferencePair[], weights?: readonly number[]): IndexedPair[] =>
    list.flatMap((p, i) => {
      if (!exists(p.image_0_path) || !exists(p.image_1_path)) {
        missing++;
        return [];
      }
      const zeroWins = p.label_0 >= p.label_1;
      const a = idx(paths, p.image_0_path);
      const b = idx(paths, p.image_1_path);
      return [{ prompt: idx(prompts, p.caption), winner: zeroWins ? a : b, loser: zeroWins ? b : a, label: p.label_0 === p.label_1 ? 0.5 : 1, weight: weights?.[i] ?? 1 }];
    });
  const t = convert(train, trainWeights);
  const h = convert(heldOut);
  return { prompts: [...prompts.keys()], paths: [...paths.keys()], train: t, heldOut: h, missing };
}

/** PNGs from the image store, decoded when the trainer asks (no copy of the store in memory). */
function pngSource(paths: readonly string[]): ImageSource {
  return { count: paths.length, pixels: (i, size) => decodePng(readFileSync(paths[i]!), { width: size, height: size }).data };
}

/**
 * The reward stage of a training run (docs/learning-loop.md): the community's curated pairs up
 * to the cut-off, whole dialogues held out, mismatched negatives added to the training side; the
 * reward model trained by DPO against the active version (Bradley–Terry for the first one);
 * promoted only when its held-out pair accuracy beats the active version's (or, with none, the
 * plain cosine's) by PROMOTION_MARGIN on at least REWARD_MIN_HELDOUT_PAIRS pairs.
 * The version's files are complete before it is registered, and activation is the last step.
 */
@Injectable()
export class RewardStage implements TrainingStage {
  readonly name = 'reward';
  private readonly logger = new Logger(RewardStage.name);

  constructor(
    @Inject(GPU_SERVER_CONFIG) private readonly config: GpuServerConfig,
    private readonly versions: ModelVersionService,
  ) {}

  async run(ctx: TrainingStageContext): Promise<TrainingStageOutcome> {
    const started = performance.now();
    const outcome = (decision: TrainingStageOutcome['decision'], reason: string, metrics: Record<string, number> = {}, producedVersionId: string | null = null): TrainingStageOutcome => ({
      decision,
      reason,
      metrics: Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v))),
      producedVersionId,
      seconds: (performance.now() - started) / 1000,
    });
    const modelDir = resolve(this.config.MODEL_DIR);
    const encoders = findRewardEncoders(modelDir);
    if (!encoders.ok) return outcome('skipped', encoders.reason);

    const pairs = buildPreferencePairs(ctx.data, ctx.imageDir);
    const split = splitByDialogue(pairs, { heldOutShare: this.config.REWARD_HELDOUT_SHARE, seed: ctx.runId });
    const mismatched = mismatchedNegatives(ctx.data, split.train, { perRound: this.config.REWARD_MISMATCH_PER_ROUND, seed: ctx.runId, imageDir: ctx.imageDir });
    const trainPairs = [...split.train, ...mismatched];
    const weights = pairTrainingWeights(ctx.data, trainPairs, { thumbedDownLoserWeight: this.config.REWARD_THUMBED_DOWN_WEIGHT });
    const indexed = indexPairs(trainPairs, weights, split.heldOut);
    const decidedHeldOut = indexed.heldOut.filter((p) => p.label !== 0.5).length;
    const counts = { pairs_train: indexed.train.length, pairs_mismatch: mismatched.length, pairs_heldout: decidedHeldOut, pairs_missing_images: indexed.missing };
    if (indexed.train.length === 0) return outcome('skipped', 'no training pairs with images on disk', counts);

    const active = await this.versions.active('reward', ctx.communityId);
    let reference: RewardVersion | null = null;
    let referenceNote = 'first version: Bradley–Terry from a fresh head';
    if (active) {
      try {
        reference = loadRewardVersion(this.versionPath(active.path));
        referenceNote = `DPO against ${active.name}`;
      } catch (err) {
        referenceNote = `active ${active.name} could not be loaded (${(err as Error).message}); Bradley–Terry from a fresh head`;
        this.logger.warn(referenceNote);
      }
    }

    await ctx.progress(0, `reward: ${indexed.train.length} training pairs, ${decidedHeldOut} held out; ${referenceNote}`);
    const trained = await trainRewardModel({
      modelDir,
      images: pngSource(indexed.paths),
      prompts: indexed.prompts,
      train: indexed.train,
      heldOut: indexed.heldOut,
      reference,
      config: { threads: this.config.ORT_INTRA_OP_THREADS, tower: { steps: this.config.REWARD_TOWER_STEPS } },
      workDir: ctx.workDir,
      onProgress: (fraction, message) => void ctx.progress(fraction * 0.95, message).catch(() => undefined),
    });
    const m = trained.metrics;
    const metrics = { ...counts, ...m };

    // Write the version completely, then register it (idempotent by name: a resumed run that
    // gets here again writes the same folder and finds the same row).
    const name = `reward-${communityKey(ctx.communityId).replace(/[^A-Za-z0-9_.-]/g, '_')}-${ctx.runId.slice(0, 8)}`;
    const dir = join(resolve(this.config.VERSIONS_DIR), 'reward', name);
    if (!isCompleteRewardVersion(dir)) saveRewardVersion(dir, trained.version);
    const version = await this.versions.register({
      name,
      kind: 'reward',
      communityId: ctx.communityId,
      path: relative(resolve(this.config.VERSIONS_DIR), dir),
      trainingRunId: ctx.runId,
      metrics: Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v))),
    });

    const baseline = reference && Number.isFinite(m.reference_acc) ? { name: active!.name, acc: m.reference_acc } : { name: 'the plain cosine', acc: m.cosine_acc };
    const summary = `held-out accuracy ${m.heldout_acc.toFixed(3)} vs ${baseline.acc.toFixed(3)} for ${baseline.name} on ${m.heldout_pairs} pairs (cosine ${m.cosine_acc.toFixed(3)})`;
    if (m.heldout_pairs < this.config.REWARD_MIN_HELDOUT_PAIRS) {
      return outcome('kept', `${summary}: fewer than ${this.config.REWARD_MIN_HELDOUT_PAIRS} held-out pairs to judge by`, metrics, version.id);
    }
    if (!(m.heldout_acc >= baseline.acc + this.config.PROMOTION_MARGIN)) {
      return outcome('kept', `${summary}: not better by the margin ${this.config.PROMOTION_MARGIN}`, metrics, version.id);
    }
    await this.versions.activate(version.id);
    return outcome('promoted', `${summary}; ${referenceNote}`, metrics, version.id);
  }

  private versionPath(path: string): string {
    return isAbsolute(path) ? path : join(resolve(this.config.VERSIONS_DIR), path);
  }
}
