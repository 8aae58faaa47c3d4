import type { RewardHeadSession } from '../head/reward-head.session';
import type { FeatureTable, IndexedPair } from './feature-table';

export interface PairAccuracy {
  pairs: number;
  /** Share of pairs the trained reward orders as labelled (ties and zero margins count half). */
  accuracy: number;
  /** The same for the dual encoder's plain cosine (the CLIP-score baseline). */
  cosineAccuracy: number;
}

/** Held-out pairwise accuracy of a head and of the cosine baseline (ties are left out). */
export async function pairAccuracy(head: RewardHeadSession, table: FeatureTable, pairs: readonly IndexedPair[]): Promise<PairAccuracy> {
  const decided = pairs.filter((p) => p.label !== 0.5);
  if (decided.length === 0) return { pairs: 0, accuracy: 0, cosineAccuracy: 0 };
  const rows = decided.flatMap((p) => [{ image: p.winner, prompt: p.prompt }, { image: p.loser, prompt: p.prompt }]);
  const { reward, cosine } = await head.scoreRows(table, rows);
  const credit = (a: number, b: number, label: number) => (a === b ? 0.5 : (a > b) === label > 0.5 ? 1 : 0);
  let hits = 0;
  let cosHits = 0;
  decided.forEach((p, i) => {
    hits += credit(reward[2 * i]!, reward[2 * i + 1]!, p.label);
    cosHits += credit(cosine[2 * i]!, cosine[2 * i + 1]!, p.label);
  });
  return { pairs: decided.length, accuracy: hits / decided.length, cosineAccuracy: cosHits / decided.length };
}
