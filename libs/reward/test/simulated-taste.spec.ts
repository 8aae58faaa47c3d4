import { describe, expect, it } from 'vitest';
import { trainRewardModel } from '@vca/reward';
import { simulateCommunity } from '../bench/simulated-community';

/**
 * A simulated community (libs/world: a hidden taste for unoutlined shapes, which no prompt
 * names; raters voting with simulateVotes, reading images through the oracle) labels rounds;
 * its votes go through the product's pair rules. A reward model trained on them ranks held-out
 * dialogues' taste pairs far better than the dual encoder's cosine, which cannot see the taste.
 * Loose bounds on a small run: `npm run bench:reward` measures the full-size figures.
 */
describe('reward model on a simulated community', () => {
  it('learns the hidden taste from votes; the cosine stays near chance on the same pairs', async () => {
    const sim = simulateCommunity({ seed: 2, dialogues: 700, heldOutDialogues: 200, raters: 4, thumbedDownLoserWeight: 0.1 });
    const { metrics } = await trainRewardModel({
      modelDir: 'models/default',
      images: sim.images,
      prompts: sim.prompts,
      train: sim.train,
      heldOut: sim.heldOutTaste,
      config: { threads: 1, tower: { steps: 0 } },
    });
    expect(metrics.heldout_pairs).toBeGreaterThan(100);
    expect(metrics.cosine_acc).toBeGreaterThan(0.35);
    expect(metrics.cosine_acc).toBeLessThan(0.65);
    expect(metrics.heldout_acc).toBeGreaterThan(0.7);
    expect(metrics.heldout_acc).toBeGreaterThan(metrics.cosine_acc + 0.1);
  }, 180_000);
});
