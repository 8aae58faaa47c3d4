import { findRewardEncoders, loadRewardScorer } from '@vca/reward';
import type { RewardScorerLoader } from './reward-scorer.port';

/** Production reward scorers: `@vca/reward` on the model directory's dual encoder. */
export const rewardScorerLoader: RewardScorerLoader = {
  findEncoders: (modelDir) => {
    const found = findRewardEncoders(modelDir);
    return found.ok ? { ok: true } : { ok: false, reason: found.reason };
  },
  load: (opts) => loadRewardScorer(opts),
};
