/** Per-candidate label summary of a round, as needed to choose the image the next round starts from. */
export interface CandidateStanding {
  imageId: string;
  candidateIndex: number;
  storageKey: string;
  /** Distinct raters with an active up / down on this image. */
  ups: number;
  downs: number;
  /** The reward model's score of the image (`images.scores.reward`); null or absent when unscored. */
  reward?: number | null;
}

/**
 * The image round t+1 starts from (img2img): the round's kept image (its latest active pick),
 * else the best-rated candidate (most distinct ups minus downs; the lower candidate index wins a
 * tie), else — nobody voted — the candidate the reward model scored highest, else candidate 0.
 * Null when the round has no images.
 */
export function chooseKeptImage(keptImageId: string | null, candidates: readonly CandidateStanding[]): CandidateStanding | null {
  if (candidates.length === 0) return null;
  const byIndex = [...candidates].sort((a, b) => a.candidateIndex - b.candidateIndex);
  const kept = keptImageId ? byIndex.find((c) => c.imageId === keptImageId) : undefined;
  if (kept) return kept;
  if (byIndex.some((c) => c.ups + c.downs > 0)) {
    return byIndex.reduce((best, c) => (c.ups - c.downs > best.ups - best.downs ? c : best));
  }
  const scored = byIndex.filter((c) => typeof c.reward === 'number' && Number.isFinite(c.reward));
  if (scored.length > 0) return scored.reduce((best, c) => (c.reward! > best.reward! ? c : best));
  return byIndex[0]!;
}
