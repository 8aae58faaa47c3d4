import { z } from 'zod';
import type { FeedbackSignal, FeedbackSource, ModerationStatus } from '../entities/enums';

/** Which labels count as curated data. */
export const CurationOptionsSchema = z.object({
  /** Only labels a moderator approved (default: pending and approved; rejected never). */
  requireApproval: z.boolean().default(false),
  /** Only labels created at or before this instant (a training run's cutoff). */
  cutoff: z.date().optional(),
  /** Only labels of dialogues of this community (`<platform>:<workspace>`, see `communityIdOf`). */
  communityId: z.string().min(3).max(200).optional(),
});
export type CurationOptions = z.input<typeof CurationOptionsSchema>;

/** An active label from a non-banned rater, with what a pair needs. */
export interface CuratedLabel {
  eventId: string;
  raterId: string;
  imageId: string;
  roundId: string;
  dialogueId: string;
  roundIndex: number;
  candidateIndex: number;
  signal: FeedbackSignal;
  source: FeedbackSource;
  moderationStatus: ModerationStatus;
  createdAt: Date;
}

/** One candidate image of a round that has curated labels. */
export interface CuratedImage {
  imageId: string;
  roundId: string;
  candidateIndex: number;
  storageKey: string;
}

export interface CuratedRound {
  roundId: string;
  dialogueId: string;
  /** `<platform>:<workspace>` of the dialogue (`communityIdOf`). */
  communityId: string;
  roundIndex: number;
  /** The refined prompt p_t the candidates were generated from. */
  caption: string;
  images: CuratedImage[];
}

export interface CuratedData {
  labels: CuratedLabel[];
  rounds: Map<string, CuratedRound>;
}

/**
 * A Pick-a-Pic-style preference pair (field names follow the Pick-a-Pic v2 dataset:
 * caption, image_0_uid, image_1_uid, label_0, label_1, best_image_uid, user_id; ties are 0.5/0.5),
 * plus our provenance fields.
 */
export interface PreferencePair {
  caption: string;
  image_0_uid: string;
  image_1_uid: string;
  image_0_path: string;
  image_1_path: string;
  label_0: number;
  label_1: number;
  /** The preferred image; null for a tie. */
  best_image_uid: string | null;
  user_id: string;
  dialogue_id: string;
  round_id: string;
  round_index: number;
  /**
   * What the pair came from:
   * - `pick`: a picked candidate over another candidate of the same round;
   * - `up_down`: an up-voted candidate over a down-voted one (same rater, same round);
   * - `tie`: an explicit tie, labels 0.5/0.5 — kept, and trained as a soft label (the loss pulls
   *   σ(r₀ − r₁) toward 0.5 instead of dropping the pair);
   * - `mismatch`: a synthetic negative (`mismatchedNegatives`): this round's picked or up-voted
   *   image is preferred, for this round's caption, over an image generated for another
   *   dialogue's prompt — teaches the reward to follow the caption, not only image quality.
   *   Not in exports; training only.
   */
  origin: 'pick' | 'up_down' | 'tie' | 'mismatch';
}
