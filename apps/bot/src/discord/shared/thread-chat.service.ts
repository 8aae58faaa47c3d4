import { Injectable } from '@nestjs/common';
import {
  ConversationService,
  DialogueEntity,
  isCoreError,
  type CoreError,
  FeedbackService,
  type FeedbackSignal,
  type MessageAuthor,
  type QuotaUsage,
  type RoundRequested,
  type RoundStarted,
} from '@vca/core';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import type { ThreadRef } from '../../chat/chat-adapter.interface';
import { OverheadRecorder } from '../../results/overhead.recorder';
import { RoundEventsRelay } from '../../results/round-events.relay';
import { BoundedMap } from './bounded-map.util';

/** The chat platforms served by this folder's adapters. */
export type ThreadPlatform = 'discord' | 'slack';

/** A message in a platform thread, in the core's terms. */
export interface ThreadMessage {
  platform: ThreadPlatform;
  workspaceId: string;
  channelId: string;
  threadId: string;
  userId: string;
  text: string;
}

export interface ThreadRating {
  platform: ThreadPlatform;
  userId: string;
  imageId: string;
  signal: FeedbackSignal;
  source: 'reaction' | 'button';
  /** Platform event id (interaction id, event_id, reaction key): a repeat is a no-op. */
  eventId: string;
}

/** A reroll (target: a round) or vary (target: a candidate image) button click. */
export interface ThreadRoundRequest {
  platform: ThreadPlatform;
  userId: string;
  kind: 'reroll' | 'vary';
  targetId: string;
  /** Platform id of the click (interaction id, action key): a redelivery returns the same round. */
  eventId: string;
}

/** What a button click did: buttons toggle, so clicking an active label takes it back. */
export type ToggleOutcome = 'recorded' | 'revoked' | 'duplicate';

/**
 * Use cases shared by the Discord and Slack adapters: a thread message becomes a round, a
 * reaction or button becomes a label. Platform-free: adapters translate events into these calls
 * and render the answers. (Lives beside the Discord adapter because apps/bot/src/chat belongs to
 * the web-chat side; it is meant to move there.)
 */
@Injectable()
export class ThreadChatService {
  /** Threads known to hold a dialogue: skips a query for every later message in them. */
  private readonly knownThreads = new BoundedMap<string, true>(50_000);

  constructor(
    private readonly conversation: ConversationService,
    private readonly feedback: FeedbackService,
    private readonly relay: RoundEventsRelay,
    private readonly overhead: OverheadRecorder,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * First message of a thread = the prompt; later ones = feedback. Throws CoreError (safe to show).
   * `author.moderator`: the adapter's answer to "is the author a moderator?" (block list and quota
   * do not apply to them); a function is asked only when a rule would refuse the message.
   */
  async post(message: ThreadMessage, author: MessageAuthor = {}): Promise<{ started: RoundStarted; thread: ThreadRef }> {
    const received = performance.now();
    const started = await this.conversation.handleMessage(message, author);
    this.overhead.record('enqueue', performance.now() - received);
    this.knownThreads.set(`${message.platform}:${message.threadId}`, true);
    const thread: ThreadRef = {
      platform: message.platform,
      dialogueId: started.dialogueId,
      workspaceId: message.workspaceId,
      channelId: message.channelId,
      threadId: message.threadId,
    };
    return { started, thread };
  }

  /**
   * Reroll / vary button: a new round in the thread of the target (CoreError as for messages).
   * `requested.duplicate` means an earlier delivery of this click made the round already, so the
   * adapter must not post a second working message.
   */
  async requestRound(req: ThreadRoundRequest, author: MessageAuthor = {}): Promise<{ requested: RoundRequested; thread: ThreadRef }> {
    const received = performance.now();
    const base = { platform: req.platform, userId: req.userId, requestId: `${req.platform}:${req.eventId}` };
    const requested =
      req.kind === 'reroll'
        ? await this.conversation.reroll({ ...base, roundId: req.targetId }, author)
        : await this.conversation.vary({ ...base, imageId: req.targetId }, author);
    if (!requested.duplicate) this.overhead.record('enqueue', performance.now() - received);
    const d = await this.dataSource.getRepository(DialogueEntity).findOneByOrFail({ id: requested.dialogueId });
    const thread: ThreadRef = { platform: req.platform, dialogueId: d.id, workspaceId: d.workspaceId, channelId: d.channelId, threadId: d.threadId };
    return { requested, thread };
  }

  /**
   * The block-list or quota refusal a prompt would get (null: allowed), checked before the adapter
   * echoes it anywhere: a blocked `/imagine` must not become a thread name or an intro message,
   * and a used-up quota must not open an empty thread.
   */
  async screen(platform: ThreadPlatform, workspaceId: string, userId: string, text: string, author: MessageAuthor = {}): Promise<CoreError | null> {
    try {
      await this.conversation.screenMessage({ platform, workspaceId }, text, author, userId);
      return null;
    } catch (err) {
      if (isCoreError(err)) return err;
      throw err;
    }
  }

  /** A user's daily-quota use, as the `/quota` command shows it. */
  quota(platform: ThreadPlatform, userId: string, author: MessageAuthor = {}): Promise<QuotaUsage> {
    return this.conversation.quotaUsage({ platform, userId }, author);
  }

  /** Starts pushing queue position and progress of a round into its thread. */
  track(thread: ThreadRef, roundId: string): void {
    void this.relay.trackRound(thread, roundId).catch(() => undefined);
  }

  async isDialogueThread(platform: ThreadPlatform, threadId: string): Promise<boolean> {
    const key = `${platform}:${threadId}`;
    if (this.knownThreads.has(key)) return true;
    const found = await this.dataSource.getRepository(DialogueEntity).exists({ where: { platform, threadId } });
    if (found) this.knownThreads.set(key, true);
    return found;
  }

  async rate(rating: ThreadRating): Promise<'recorded' | 'duplicate'> {
    const result = await this.feedback.recordFeedback({ ...rating, platformEventId: `${rating.platform}:${rating.eventId}` });
    return result.status;
  }

  /** A removed reaction revokes the label (revoked_at is set; nothing is deleted). */
  async revoke(rating: Omit<ThreadRating, 'eventId'>): Promise<number> {
    const result = await this.feedback.revokeFeedback(rating);
    return result.revokedEventIds.length;
  }

  /**
   * A button click: records the label, or takes it back when the rater already has it active
   * (the core reports an identical active label as a duplicate under another event id).
   */
  async toggle(rating: ThreadRating): Promise<ToggleOutcome> {
    const platformEventId = `${rating.platform}:${rating.eventId}`;
    const result = await this.feedback.recordFeedback({ ...rating, platformEventId });
    if (result.status === 'recorded') return 'recorded';
    if (result.event.platformEventId === platformEventId) return 'duplicate';
    await this.feedback.revokeFeedback({ platform: rating.platform, userId: rating.userId, imageId: rating.imageId, signal: rating.signal, source: rating.source });
    return 'revoked';
  }
}
