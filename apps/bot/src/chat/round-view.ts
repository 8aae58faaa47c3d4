/**
 * Platform-neutral read model of a round, as adapters render it and as the web API returns it.
 * Built from the core's entities by round-view.mapper.ts.
 */
export interface ImageView {
  id: string;
  candidateIndex: number;
  seed: number;
  strength: number | null;
  steps: number;
  guidanceScale: number;
  modelVersion: string;
  /** Content-addressed key in the image store (what Discord/Slack adapters upload). */
  storageKey: string;
  /** Same-origin path the web chat loads the PNG from. */
  url: string;
  counts: { up: number; down: number; pick: number; tie: number };
  /** Signals the viewing rater has given and not revoked (web only; empty elsewhere). */
  mine: string[];
  /** This image is the one carried into the next round as the img2img source. */
  kept: boolean;
  /**
   * The reward model's score r(p, x) of this candidate for the round's prompt (higher = more what
   * the community means), with the plain text–image cosine beside it; null when unscored.
   */
  score: { reward: number; cosine: number } | null;
}

export type RoundStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface RoundView {
  id: string;
  dialogueId: string;
  index: number;
  userText: string;
  refinedPrompt: string;
  /** What the refiner changed this round ("what the bot understood"), e.g. replace fox → cat. */
  edits: Array<{ kind: string; from?: string; to?: string }>;
  negativePrompt: string;
  mode: 'txt2img' | 'img2img';
  /** How the round was asked for: a message, the reroll button (of `sourceRoundId`), a vary button. */
  origin: 'message' | 'reroll' | 'vary';
  sourceRoundId: string | null;
  status: RoundStatus;
  error: string | null;
  /** img2img source image id, null in round 1 (text-to-image). */
  parentImageId: string | null;
  createdAt: string;
  images: ImageView[];
  /** While queued: 1 = next to start, null = not known; absent otherwise. */
  queuePosition?: number | null;
  /**
   * Name of the trained reward version that scored the candidates ("scored by …"); null when the
   * round was scored by the plain cosine baseline or not at all.
   */
  scoredBy: string | null;
}

export interface ThreadSummary {
  id: string;
  /** The current (latest refined) prompt. */
  title: string;
  ownerId: string;
  /** The viewer started this thread (web: compared by pseudonymous id). */
  mine: boolean;
  createdAt: string;
  roundCount: number;
}

export interface ThreadDetail extends ThreadSummary {
  rounds: RoundView[];
}
