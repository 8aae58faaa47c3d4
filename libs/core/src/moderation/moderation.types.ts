import { z } from 'zod';
import { MODERATION_STATUSES, type FeedbackSignal, type FeedbackSource, type ModerationActionKind, type ModerationStatus, type Platform, type RoundOrigin } from '../entities/enums';

export const ModeratorIdSchema = z.string().trim().min(1).max(200);

export const ListLabelsSchema = z.object({
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0),
  status: z.enum(MODERATION_STATUSES).optional(),
  raterId: z.string().min(1).max(64).optional(),
  includeRevoked: z.boolean().default(false),
});
export type ListLabelsOptions = z.input<typeof ListLabelsSchema>;

export interface LabelReviewItem {
  eventId: string;
  raterId: string;
  raterBanned: boolean;
  imageId: string;
  storageKey: string;
  candidateIndex: number;
  roundId: string;
  roundIndex: number;
  dialogueId: string;
  prompt: string;
  signal: FeedbackSignal;
  source: FeedbackSource;
  platform: Platform;
  createdAt: Date;
  revokedAt: Date | null;
  moderationStatus: ModerationStatus;
}

export interface RaterSummary {
  id: string;
  platform: Platform;
  banned: boolean;
  bannedReason: string | null;
  bannedAt: Date | null;
  createdAt: Date;
  /** Labels not revoked. */
  activeLabels: number;
  /** Labels given in the last 24 hours (revoked ones too): rating speed. */
  labelsLast24h: number;
  /** Share of their thumbs agreeing with the other non-banned raters' net vote; null if none compared. */
  agreement: number | null;
  /** How many of their thumbs could be compared. */
  comparedLabels: number;
}

export interface AuditEntry {
  id: string;
  moderatorId: string;
  action: ModerationActionKind;
  targetType: string;
  targetId: string | null;
  reason: string | null;
  details: Record<string, unknown>;
  createdAt: Date;
}

export interface DeletionResult {
  deletedImages: number;
  deletedRounds: number;
  /** Storage keys no remaining image row refers to: the caller may delete the files. */
  orphanedStorageKeys: string[];
}

/** Per-dialogue export (rounds with prompt, feedback, refined prompt, images and curated labels). */
export interface DialogueExport {
  dialogue_id: string;
  platform: Platform;
  created_at: string;
  rounds: Array<{
    round_id: string;
    index: number;
    requester_id: string;
    /** The message as written; null when its author is banned (their words leave exports too). */
    user_text: string | null;
    refined_prompt: string;
    negative_prompt: string;
    mode: string;
    status: string;
    /** `message`, or a `reroll` / `vary` button round (its source round in `source_round_id`). */
    origin: RoundOrigin;
    source_round_id: string | null;
    parent_image_uid: string | null;
    kept_image_uid: string | null;
    images: Array<{
      uid: string;
      candidate_index: number;
      path: string;
      seed: number;
      steps: number;
      strength: number;
      guidance_scale: number;
      model_version: string;
      lora_versions: string[];
      content_hash: string;
      labels: Array<{ rater_id: string; signal: FeedbackSignal; source: FeedbackSource; moderation_status: ModerationStatus; created_at: string }>;
    }>;
  }>;
}

export const ExportOptionsSchema = z.object({
  /** Directory holding the content-addressed images (paths in the export point there). */
  imageDir: z.string().min(1),
  requireApproval: z.boolean().default(false),
});
export type ExportOptions = z.input<typeof ExportOptionsSchema>;
