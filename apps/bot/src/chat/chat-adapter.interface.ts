import type { RoundView } from './round-view';

/** Chat platforms the bot speaks. The conversation core stores this string and nothing else. */
export type Platform = 'web' | 'discord' | 'slack';

/** Where a dialogue lives on its platform (Discord guild/channel/thread, Slack team/channel/thread_ts). */
export interface ThreadRef {
  platform: string;
  dialogueId: string;
  workspaceId: string;
  channelId: string;
  threadId: string;
}

/** One change in a round's life, rendered by the adapter that owns the dialogue's platform. */
export type RoundUpdate =
  /** Waiting for a GPU worker; `position` 1 = next to start, null = not known yet. */
  | { kind: 'queued'; dialogueId: string; roundId: string; position: number | null }
  | { kind: 'started'; dialogueId: string; roundId: string }
  | { kind: 'progress'; dialogueId: string; roundId: string; step: number; totalSteps: number }
  | { kind: 'completed'; dialogueId: string; roundId: string; round: RoundView }
  /** Labels on the round's candidates changed (counts, kept image); `mine` is empty. */
  | { kind: 'rated'; dialogueId: string; roundId: string; round: RoundView }
  /** One attempt failed; the queue retries it after a backoff. */
  | { kind: 'retrying'; dialogueId: string; roundId: string; reason: string }
  /** Failed for good (retries exhausted, or a job that cannot succeed). */
  | { kind: 'failed'; dialogueId: string; roundId: string; reason: string };

/**
 * The seam between the platform-free conversation core and a chat platform (issue 5 web chat;
 * issue 6 Discord and Slack). An adapter turns platform events into calls on the core itself and
 * receives round updates here to post them into the thread; nothing outside an adapter knows a
 * platform exists.
 */
export interface ChatAdapter {
  readonly platform: Platform;
  /** Whether this adapter is configured to run (its credentials are set); health lists only these. */
  readonly enabled: boolean;
  /**
   * Where a delivery lands. `platform`: one shared place (a Discord or Slack message), so with
   * several bot replicas exactly one of them posts each result. `replica`: only the readers
   * connected to this process (the web chat's SSE), so every replica delivers to its own.
   */
  readonly deliveryScope: 'platform' | 'replica';
  /** Connects to the platform; called once at application start. Must not throw for a bad token. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Posts or edits the thread's working message. Failures are the adapter's to log and retry. */
  deliver(thread: ThreadRef, update: RoundUpdate): Promise<void>;
}

/** Nest multi-provider token under which every adapter registers. */
export const CHAT_ADAPTERS = Symbol('CHAT_ADAPTERS');
