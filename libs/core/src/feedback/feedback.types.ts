import { z } from 'zod';
import {
  FEEDBACK_SIGNALS,
  FEEDBACK_SOURCES,
  PLATFORMS,
  type FeedbackSignal,
  type FeedbackSource,
  type ModerationStatus,
  type Platform,
} from '../entities/enums';

const id = z.string().min(1).max(200);

export const RecordFeedbackSchema = z.object({
  platform: z.enum(PLATFORMS),
  /** Platform user id; stored only as a pseudonymous hash. */
  userId: id,
  imageId: z.string().uuid(),
  signal: z.enum(FEEDBACK_SIGNALS),
  source: z.enum(FEEDBACK_SOURCES),
  /** Platform event id (interaction id, reaction event key, web request id): a repeat is a no-op. */
  platformEventId: z.string().min(1).max(300),
});
export type RecordFeedbackInput = z.input<typeof RecordFeedbackSchema>;

export const RevokeFeedbackSchema = RecordFeedbackSchema.omit({ platformEventId: true });
export type RevokeFeedbackInput = z.input<typeof RevokeFeedbackSchema>;

export interface FeedbackEventView {
  id: string;
  raterId: string;
  imageId: string;
  roundId: string;
  signal: FeedbackSignal;
  source: FeedbackSource;
  platform: Platform;
  platformEventId: string;
  createdAt: Date;
  revokedAt: Date | null;
  moderationStatus: ModerationStatus;
}

export interface FeedbackRecorded {
  /** `duplicate`: the event id (or an identical active label) was already stored; nothing changed. */
  status: 'recorded' | 'duplicate';
  event: FeedbackEventView;
  /** Labels this one superseded (an up replaces the rater's down, a pick replaces their earlier pick). */
  superseded: string[];
  /** The round's kept image after this event. */
  keptImageId: string | null;
}

export interface FeedbackRevoked {
  revokedEventIds: string[];
  keptImageId: string | null;
  /** The image's round; null when the image no longer exists. */
  roundId: string | null;
}
