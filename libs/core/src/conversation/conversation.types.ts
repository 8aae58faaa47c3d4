import { z } from 'zod';
import {
  PLATFORMS,
  type FeedbackSignal,
  type Platform,
  type RoundMode,
  type RoundOrigin,
  type RoundStatus,
} from '../entities/enums';
import type { PromptEdit } from '../refiner/prompt-refiner.port';

const id = z.string().min(1).max(200);

/** A message posted in a thread, as an adapter hands it to the core. */
export const IncomingMessageSchema = z.object({
  platform: z.enum(PLATFORMS),
  workspaceId: id,
  channelId: id,
  threadId: id,
  /** Platform user id; stored only as a pseudonymous hash. */
  userId: id,
  text: z.string().trim().min(1).max(2000),
});
export type IncomingMessage = z.input<typeof IncomingMessageSchema>;

/**
 * A later message addressed by the dialogue's own id (the web chat's threads are dialogues): it
 * never opens a dialogue, and one of another platform is not found.
 */
export const DialogueMessageSchema = z.object({
  platform: z.enum(PLATFORMS),
  dialogueId: z.string().uuid({ message: 'must be a dialogue id (UUID)' }),
  userId: id,
  text: IncomingMessageSchema.shape.text,
});
export type DialogueMessage = z.input<typeof DialogueMessageSchema>;

/**
 * A button click that asks for a new round. `requestId` is the platform's id of the click (Discord
 * interaction id, Slack action trigger, web client event id): a redelivery with the same id
 * returns the round the first delivery made instead of starting another.
 */
const ButtonRequestFields = {
  platform: z.enum(PLATFORMS),
  /** Platform user id of whoever clicked; stored only as a pseudonymous hash. */
  userId: id,
  requestId: id,
};

/** Reroll: the same refined prompt and parent image as `roundId`, fresh seeds. */
export const RerollRequestSchema = z.object({ ...ButtonRequestFields, roundId: id });
export type RerollRequest = z.input<typeof RerollRequestSchema>;

/** Vary: img2img from one candidate with its round's prompt, at low strengths (subtle changes). */
export const VaryRequestSchema = z.object({ ...ButtonRequestFields, imageId: id });
export type VaryRequest = z.input<typeof VaryRequestSchema>;

export const ConversationOptionsSchema = z.object({
  /** N candidates per round. */
  candidates: z.number().int().min(1).max(16).default(4),
  /** img2img strengths are spread evenly over [min, max] across the N candidates. */
  strengthMin: z.number().min(0).max(1).default(0.45),
  strengthMax: z.number().min(0).max(1).default(0.75),
  steps: z.number().int().min(1).max(200).default(40),
  guidanceScale: z.number().min(0).max(50).default(7.5),
  scheduler: z.enum(['ddim', 'euler_a', 'dpmpp_2m']).default('ddim'),
  /** LoRA adapters (model-version ids and scales) every new round asks the worker to apply. */
  loras: z.array(z.object({ versionId: z.string().min(1), scale: z.number().min(-4).max(4) })).max(8).default([]),
  /**
   * A round still queued or running after this long no longer blocks its thread: the next message
   * marks it failed and goes on. Guards against a round whose failure report was lost.
   */
  staleRoundAfterMs: z.number().int().min(1).default(30 * 60_000),
  /**
   * Strengths of a variation round, spread like `strengthMin/Max` but lower: a variation keeps
   * the composition of the chosen candidate (Midjourney's V buttons are subtle by default).
   */
  varyStrengthMin: z.number().min(0).max(1).default(0.2),
  varyStrengthMax: z.number().min(0).max(1).default(0.4),
  /**
   * Rounds one rater may ask for per rolling 24 hours (messages, rerolls and variations; failed
   * rounds not counted); 0 = unlimited. Moderators are exempt.
   */
  dailyRoundQuota: z.number().int().min(0).default(0),
  /** Salt for pseudonymous ids; keep it stable or rater ids change. */
  raterIdSalt: z.string().default(''),
  /**
   * Best-of-K: K > `candidates` asks the worker for K candidates of which it keeps the
   * `candidates` best by reward score (K/N times the generation cost); 0 = off.
   */
  oversample: z.number().int().min(0).max(16).default(0),
});
export type ConversationOptions = z.input<typeof ConversationOptionsSchema>;
export const CONVERSATION_OPTIONS = Symbol('CONVERSATION_OPTIONS');

export interface FeedbackCounts {
  up: number;
  down: number;
  pick: number;
  tie: number;
}

export interface ImageView {
  id: string;
  roundId: string;
  candidateIndex: number;
  seed: number;
  steps: number;
  strength: number;
  guidanceScale: number;
  modelVersion: string;
  loraVersions: string[];
  contentHash: string;
  storageKey: string;
  width: number;
  height: number;
  /** `{ reward, cosine }` when the worker scored the round; `{}` when unscored. */
  scores: Record<string, number>;
  /** The reward model version that scored it; null for the cosine baseline or unscored. */
  rewardVersionId: string | null;
  /** Active labels (not revoked, not rejected, rater not banned). */
  feedback: FeedbackCounts;
}

export interface RoundView {
  id: string;
  dialogueId: string;
  index: number;
  requesterId: string;
  userText: string;
  refinedPrompt: string;
  negativePrompt: string;
  edits: PromptEdit[];
  refinerSource: 'initial' | 'rules' | 'llm';
  mode: RoundMode;
  /** `message` (prompt or feedback), `reroll` of `sourceRoundId`, or `vary` of `parentImageId`. */
  origin: RoundOrigin;
  sourceRoundId: string | null;
  parentImageId: string | null;
  keptImageId: string | null;
  status: RoundStatus;
  failureReason: string | null;
  candidateCount: number;
  postedAt: Date | null;
  postedMessageId: string | null;
  createdAt: Date;
  completedAt: Date | null;
  images: ImageView[];
  /** The trained reward version that scored this round's images (id and name); null otherwise. */
  rewardVersion: { id: string; name: string } | null;
}

export interface DialogueView {
  id: string;
  platform: Platform;
  workspaceId: string;
  channelId: string;
  threadId: string;
  ownerId: string;
  createdAt: Date;
  rounds: RoundView[];
}

export interface DialogueSummary {
  id: string;
  platform: Platform;
  threadId: string;
  channelId: string;
  ownerId: string;
  createdAt: Date;
  roundCount: number;
  lastPrompt: string | null;
}

export interface ThreadOfRound {
  dialogueId: string;
  platform: Platform;
  workspaceId: string;
  channelId: string;
  threadId: string;
  roundIndex: number;
}

/** What `handleMessage` did: the new round, and whether it started a dialogue. */
export interface RoundStarted {
  dialogueId: string;
  /** Where the dialogue lives on its platform. */
  thread: { workspaceId: string; channelId: string; threadId: string };
  started: boolean;
  round: RoundView;
  jobId: string;
}

/** What `reroll` / `vary` did: the new round, or (`duplicate`) the one an earlier delivery made. */
export interface RoundRequested {
  dialogueId: string;
  round: RoundView;
  jobId: string;
  duplicate: boolean;
}

export type { FeedbackSignal };
