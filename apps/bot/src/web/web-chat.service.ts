import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import { DiskImageStorage } from '@vca/shared';
import { randomUUID } from 'node:crypto';
import {
  ConversationService,
  DialogueEntity,
  DialogueQueryService,
  FeedbackService,
  type DeletionResult,
  type DialogueView,
  type FeedbackSignal,
  type QuotaUsage,
  type RoundRequested,
} from '@vca/core';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import type { ThreadRef } from '../chat/chat-adapter.interface';
import type { RoundView, ThreadDetail, ThreadSummary } from '../chat/round-view';
import { toRoundView, toThreadDetail, toThreadSummary } from '../chat/round-view.mapper';
import { OverheadRecorder } from '../results/overhead.recorder';
import { removeOrphanFiles } from '../core/orphan-files.util';
import { RoundEventsRelay } from '../results/round-events.relay';
import { WebEventsHub } from './web-events.hub';

/** Where web-chat dialogues live in the core's (platform, workspace, channel, thread) terms. */
export const WEB_WORKSPACE = 'local';
const WEB_CHANNEL = 'web';

/**
 * The web chat's use cases: translate page actions into calls on the conversation core and its
 * results into the web read model. Each web thread is one dialogue with platform `web`.
 */
@Injectable()
export class WebChatService {
  private readonly logger = new Logger(WebChatService.name);

  constructor(
    private readonly conversation: ConversationService,
    private readonly queries: DialogueQueryService,
    private readonly feedback: FeedbackService,
    private readonly relay: RoundEventsRelay,
    private readonly overhead: OverheadRecorder,
    private readonly hub: WebEventsHub,
    private readonly storage: DiskImageStorage,
    private readonly dataSource: DataSource,
  ) {}

  async listThreads(userId: string | null): Promise<ThreadSummary[]> {
    const viewer = userId ? this.feedback.raterIdOf('web', userId) : null;
    return (await this.queries.listDialogues({ platform: 'web', limit: 100 })).map((d) => toThreadSummary(d, viewer));
  }

  async getThread(userId: string, dialogueId: string): Promise<ThreadDetail> {
    const dialogue = await this.webDialogue(dialogueId);
    const imageIds = dialogue.rounds.flatMap((r) => r.images.map((i) => i.id));
    const detail = toThreadDetail(dialogue, await this.activeSignals(userId, imageIds), this.feedback.raterIdOf('web', userId));
    const thread = this.threadRef(dialogue.id, dialogue.threadId, dialogue.workspaceId, dialogue.channelId);
    for (const round of detail.rounds) {
      if (round.status === 'queued') round.queuePosition = await this.relay.queuePosition(thread, round.id);
    }
    return detail;
  }

  /** First message of a new thread: the prompt of round 1. */
  async startThread(userId: string, prompt: string, received = performance.now(), moderator = false): Promise<ThreadDetail> {
    const threadId = randomUUID();
    const started = await this.conversation.handleMessage(
      { platform: 'web', workspaceId: WEB_WORKSPACE, channelId: WEB_CHANNEL, threadId, userId, text: prompt },
      { moderator },
    );
    this.overhead.record('enqueue', performance.now() - received);
    void this.relay.trackRound(this.threadRef(started.dialogueId, threadId), started.round.id);
    const dialogue: DialogueView = {
      id: started.dialogueId,
      platform: 'web',
      workspaceId: WEB_WORKSPACE,
      channelId: WEB_CHANNEL,
      threadId,
      ownerId: started.round.requesterId,
      createdAt: started.round.createdAt,
      rounds: [started.round],
    };
    return toThreadDetail(dialogue, new Map(), started.round.requesterId);
  }

  /** A later message in the thread: feedback that starts the next round. */
  async postMessage(userId: string, dialogueId: string, text: string, received = performance.now(), moderator = false): Promise<RoundView> {
    const started = await this.conversation.continueDialogue({ platform: 'web', dialogueId, userId, text }, { moderator });
    this.overhead.record('enqueue', performance.now() - received);
    const { threadId, workspaceId, channelId } = started.thread;
    void this.relay.trackRound(this.threadRef(started.dialogueId, threadId, workspaceId, channelId), started.round.id);
    return toRoundView(started.round);
  }

  /** Reroll button of a round; a repeated `requestId` returns the round the first click made. */
  async reroll(userId: string, roundId: string, requestId: string, received = performance.now(), moderator = false): Promise<RoundView> {
    const res = await this.conversation.reroll({ platform: 'web', userId, roundId, requestId: `web:${requestId}` }, { moderator });
    return this.afterButtonRound(res, received);
  }

  /** Vary button of a candidate; a repeated `requestId` returns the round the first click made. */
  async vary(userId: string, imageId: string, requestId: string, received = performance.now(), moderator = false): Promise<RoundView> {
    const res = await this.conversation.vary({ platform: 'web', userId, imageId, requestId: `web:${requestId}` }, { moderator });
    return this.afterButtonRound(res, received);
  }

  private async afterButtonRound(res: RoundRequested, received: number): Promise<RoundView> {
    if (!res.duplicate) {
      this.overhead.record('enqueue', performance.now() - received);
      void this.relay.trackRound(await this.webDialogueRef(res.dialogueId), res.round.id);
    }
    return toRoundView(res.round);
  }

  /** The viewer's daily round quota (the admin token makes them exempt). */
  quota(userId: string, moderator = false): Promise<QuotaUsage> {
    return this.conversation.quotaUsage({ platform: 'web', userId }, { moderator });
  }

  /** Only the person who started a thread may delete it here (moderators use their page). */
  async deleteThread(userId: string, dialogueId: string): Promise<DeletionResult> {
    const result = await this.conversation.deleteDialogueAsOwner({ platform: 'web', userId }, dialogueId);
    await removeOrphanFiles(this.storage, result, this.logger);
    return result;
  }

  /** Thumbs up/down, pick or tie on a candidate; returns the round as this viewer now sees it. */
  async rate(userId: string, imageId: string, signal: FeedbackSignal, eventId: string): Promise<RoundView> {
    const recorded = await this.feedback.recordFeedback({
      platform: 'web',
      userId,
      imageId,
      signal,
      source: 'web',
      platformEventId: `web:${eventId}`,
    });
    if (recorded.status === 'recorded') await this.broadcastRatings(recorded.event.roundId);
    return this.roundFor(userId, recorded.event.roundId);
  }

  /** Clicking an active rating again takes it back (revoked, never deleted). */
  async revoke(userId: string, imageId: string, signal: FeedbackSignal): Promise<RoundView> {
    const revoked = await this.feedback.revokeFeedback({ platform: 'web', userId, imageId, signal, source: 'web' });
    if (!revoked.roundId) throw new NotFoundException('This image no longer exists.');
    if (revoked.revokedEventIds.length) await this.broadcastRatings(revoked.roundId);
    return this.roundFor(userId, revoked.roundId);
  }

  /** Other viewers of the thread see counts and the kept image change without reloading. */
  private async broadcastRatings(roundId: string): Promise<void> {
    const round = toRoundView(await this.queries.getRound(roundId));
    this.hub.publish({ kind: 'rated', dialogueId: round.dialogueId, roundId, round });
  }

  private async roundFor(userId: string, roundId: string): Promise<RoundView> {
    const round = await this.queries.getRound(roundId);
    return toRoundView(round, await this.activeSignals(userId, round.images.map((i) => i.id)));
  }

  /** Signals the viewer has given on these images and not revoked (to light up their buttons). */
  private activeSignals(userId: string, imageIds: string[]): Promise<Map<string, FeedbackSignal[]>> {
    return this.feedback.activeSignalsOf({ platform: 'web', userId }, imageIds, 'web');
  }

  private async webDialogue(dialogueId: string): Promise<DialogueView> {
    const dialogue = await this.queries.getDialogue(dialogueId);
    if (dialogue.platform !== 'web') throw new NotFoundException('This dialogue is not a web-chat thread.');
    return dialogue;
  }

  /** The thread of a web dialogue without loading its rounds (the message path stays light). */
  private async webDialogueRef(dialogueId: string): Promise<ThreadRef> {
    const d = await this.dataSource.getRepository(DialogueEntity).findOneBy({ id: dialogueId });
    if (!d || d.platform !== 'web') throw new NotFoundException('This web-chat thread does not exist.');
    return this.threadRef(d.id, d.threadId, d.workspaceId, d.channelId);
  }

  private threadRef(dialogueId: string, threadId: string, workspaceId = WEB_WORKSPACE, channelId = WEB_CHANNEL): ThreadRef {
    return { platform: 'web', dialogueId, workspaceId, channelId, threadId };
  }
}
