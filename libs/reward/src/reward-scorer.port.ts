/**
 * What the rest of the system sees of a reward model r(p, x) (docs/learning-loop.md): a score per
 * candidate image for a prompt, higher = more what this community means by the prompt.
 *
 * A scorer with no trained version behind it (`versionId: null`) returns the frozen dual
 * encoder's plain text–image cosine, the baseline every trained version is compared with.
 */
export interface RewardScorer {
  /** Model-version id of the reward head in use, or null for the plain cosine baseline. */
  readonly versionId: string | null;
  /** One score per PNG, in input order. */
  score(prompt: string, pngs: readonly Uint8Array[]): Promise<RewardScores[]>;
  dispose(): Promise<void>;
}

export interface RewardScores {
  /** r_φ(p, x): the trained reward (equals `cosine` when there is no trained version). */
  reward: number;
  /** The dual encoder's text–image cosine (CLIP score) of the same pair. */
  cosine: number;
}
