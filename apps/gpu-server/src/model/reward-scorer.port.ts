import type { LoadRewardScorerOptions, RewardScorer } from '@vca/reward';

/**
 * How the GPU server gets reward scorers: `@vca/reward` in production (reward-scorer.loader.ts),
 * anything with the same shape in tests. Kept behind a token so the generation worker knows
 * nothing of ONNX sessions or where a version's files live.
 */
export const REWARD_SCORER_LOADER = Symbol('REWARD_SCORER_LOADER');

export type RewardEncoderCheck = { ok: true } | { ok: false; reason: string };

/** modelDir (MODEL_DIR, whose dual encoder every scorer uses), versionDir (null = plain cosine), versionId, threads. */
export type RewardScorerLoadOptions = LoadRewardScorerOptions;

export interface RewardScorerLoader {
  /** Whether MODEL_DIR has the CLIP-style encoder pair a scorer needs (and if not, what to add). */
  findEncoders(modelDir: string): RewardEncoderCheck | Promise<RewardEncoderCheck>;
  load(opts: RewardScorerLoadOptions): Promise<RewardScorer>;
}

/** A loader for builds or tests without scoring: every round is unscored. */
export const NO_REWARD_SCORER: RewardScorerLoader = {
  findEncoders: () => ({ ok: false, reason: 'reward scoring is not available in this build' }),
  load: () => Promise.reject(new Error('reward scoring is not available in this build')),
};
