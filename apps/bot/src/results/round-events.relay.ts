import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConversationService, CoreErrorCode, DialogueQueryService, isCoreError } from '@vca/core';
import { GenerationQueueProducer } from '@vca/queue';
import type { GenerationProgress, GenerationResult } from '@vca/shared';
import { performance } from 'node:perf_hooks';
import type { RoundUpdate, ThreadRef } from '../chat/chat-adapter.interface';
import { ChatAdapterRegistry } from '../chat/chat-adapter.registry';
import { toRoundView } from '../chat/round-view.mapper';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';
import { OverheadRecorder } from './overhead.recorder';

/**
 * The results path (issue 5, item 3): listens to the generation queue's events and hands each
 * round's updates to the adapter of its dialogue's platform. Waiting rounds get their queue
 * position refreshed on a timer. A job that failed for good marks the round failed, so the thread
 * says so even when the worker that ran it died (the stalled-job check, not the worker, fails it).
 */
@Injectable()
export class RoundEventsRelay implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RoundEventsRelay.name);
  /** Thread of each round this process has seen; avoids a query per progress event. */
  private readonly threads = new Map<string, ThreadRef>();
  /** Rounds waiting for a worker → the last position sent to the thread. */
  private readonly waiting = new Map<string, number | null>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly producer: GenerationQueueProducer,
    private readonly conversation: ConversationService,
    private readonly queries: DialogueQueryService,
    private readonly adapters: ChatAdapterRegistry,
    private readonly overhead: OverheadRecorder,
    @Inject(BOT_CONFIG) private readonly config: BotConfig,
  ) {}

  onModuleInit(): void {
    this.producer.on('active', this.onActive);
    this.producer.on('progress', this.onProgress);
    this.producer.on('completed', this.onCompleted);
    this.producer.on('failed', this.onFailed);
    this.producer.on('retrying', this.onRetrying);
    this.timer = setInterval(() => void this.pollPositions(), this.config.QUEUE_POSITION_POLL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.producer.off('active', this.onActive);
    this.producer.off('progress', this.onProgress);
    this.producer.off('completed', this.onCompleted);
    this.producer.off('failed', this.onFailed);
    this.producer.off('retrying', this.onRetrying);
  }

  /**
   * Called by an adapter right after the core enqueued a round: remembers its thread and sends
   * the first queue position at once rather than after the next poll.
   */
  async trackRound(thread: ThreadRef, roundId: string): Promise<number | null> {
    this.threads.set(roundId, thread);
    this.waiting.set(roundId, null);
    const position = await this.positionOf(roundId);
    if (position !== undefined && this.waiting.has(roundId)) {
      this.waiting.set(roundId, position);
      await this.send(thread, { kind: 'queued', dialogueId: thread.dialogueId, roundId, position });
    }
    return position ?? null;
  }

  private readonly onActive = (roundId: string): void => {
    this.waiting.delete(roundId);
    void this.guard('active', roundId, async () => {
      await this.conversation.markRoundRunning(roundId);
      const thread = await this.threadOf(roundId);
      if (thread) await this.send(thread, { kind: 'started', dialogueId: thread.dialogueId, roundId });
    });
  };

  private readonly onProgress = (roundId: string, progress: GenerationProgress): void => {
    this.waiting.delete(roundId);
    void this.guard('progress', roundId, async () => {
      const thread = await this.threadOf(roundId);
      if (thread) await this.send(thread, { kind: 'progress', dialogueId: thread.dialogueId, roundId, ...progress });
    });
  };

  private readonly onCompleted = (roundId: string, result: GenerationResult): void => {
    const received = performance.now();
    this.waiting.delete(roundId);
    void this.guard('completed', roundId, async () => {
      // One round trip in the usual case: the GPU worker stored the result before the job
      // completed, so the post is claimed (one bot replica posts each result) beside the reads.
      const [stored, thread, claimed] = await Promise.all([
        this.queries.getRound(roundId).catch((err: unknown) => (isCoreError(err, CoreErrorCode.RoundNotFound) ? null : Promise.reject(err))),
        this.threadOf(roundId),
        this.conversation.markRoundPosted(roundId, undefined, { onlyIfCompleted: true }),
      ]);
      this.threads.delete(roundId);
      if (!stored || !thread) return; // dialogue deleted while the job ran: nothing to post
      // A worker that did not store its result: record it here (idempotent).
      const recorded = stored.status === 'completed' && stored.images.length === result.images.length;
      const round = recorded ? stored : await this.conversation.recordGenerationResult(result);
      if (!round) return;
      // The claim beside the reads failed only if the result was not stored yet: claim it now.
      const ours = claimed || (stored.status !== 'completed' && (await this.conversation.markRoundPosted(roundId)));
      // A platform post is made once, by the replica holding the claim; a per-replica delivery
      // (the web chat's SSE) by every replica, to the readers connected to it.
      if (!ours && !this.adapters.deliversPerReplica(thread.platform)) return;
      await this.send(thread, { kind: 'completed', dialogueId: thread.dialogueId, roundId, round: toRoundView(round) });
      this.overhead.record('post', performance.now() - received);
    });
  };

  private readonly onFailed = (roundId: string, reason: string): void => {
    this.waiting.delete(roundId);
    void this.guard('failed', roundId, async () => {
      const round = await this.conversation.markRoundFailed(roundId, reason);
      const thread = await this.threadOf(roundId);
      this.threads.delete(roundId);
      if (!round || !thread || round.status !== 'failed') return;
      await this.send(thread, { kind: 'failed', dialogueId: thread.dialogueId, roundId, reason: round.failureReason ?? reason });
    });
  };

  private readonly onRetrying = (roundId: string, reason: string): void => {
    void this.guard('retrying', roundId, async () => {
      const thread = await this.threadOf(roundId);
      if (thread) await this.send(thread, { kind: 'retrying', dialogueId: thread.dialogueId, roundId, reason });
    });
  };

  private async pollPositions(): Promise<void> {
    if (this.polling || this.waiting.size === 0) return;
    this.polling = true;
    try {
      // All positions at once: their Redis commands share writes (auto-pipelining), which keeps
      // the poll's cost on the event loop small however many rounds wait.
      const polled = [...this.waiting];
      const positions = await Promise.all(polled.map(([roundId]) => this.positionOf(roundId)));
      for (const [i, [roundId, last]] of polled.entries()) {
        const position = positions[i];
        if (position === undefined) {
          this.waiting.delete(roundId);
          continue;
        }
        if (position === last || !this.waiting.has(roundId)) continue;
        this.waiting.set(roundId, position);
        const thread = await this.threadOf(roundId);
        if (thread) await this.send(thread, { kind: 'queued', dialogueId: thread.dialogueId, roundId, position });
      }
    } catch (err) {
      this.logger.warn(`queue positions: ${(err as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  /**
   * Position of a queued round for a reader of the thread (e.g. a page opened after a restart);
   * also starts tracking it so later changes are pushed.
   */
  async queuePosition(thread: ThreadRef, roundId: string): Promise<number | null> {
    this.threads.set(roundId, thread);
    const position = await this.positionOf(roundId);
    if (position === undefined) return null;
    if (!this.waiting.has(roundId)) this.waiting.set(roundId, position);
    return position;
  }

  /** 1-based position among waiting rounds; undefined once a worker has it or it finished. */
  private async positionOf(roundId: string): Promise<number | null | undefined> {
    const pos = await this.producer.position(roundId);
    if (pos.state === 'pending' || pos.state === 'waiting') return pos.ahead + 1;
    if (pos.state === 'unknown') return null;
    return undefined;
  }

  private async threadOf(roundId: string): Promise<ThreadRef | null> {
    const cached = this.threads.get(roundId);
    if (cached) return cached;
    const d = await this.queries.threadOfRound(roundId);
    if (!d) return null;
    const thread: ThreadRef = { platform: d.platform, dialogueId: d.dialogueId, workspaceId: d.workspaceId, channelId: d.channelId, threadId: d.threadId };
    this.threads.set(roundId, thread);
    return thread;
  }

  private async send(thread: ThreadRef, update: RoundUpdate): Promise<void> {
    if (!(await this.adapters.deliver(thread, update))) {
      this.logger.debug?.(`no adapter for platform ${thread.platform}; ${update.kind} of round ${update.roundId} not posted`);
    }
  }

  /** Event handlers run detached from the emitter: log failures instead of an unhandled rejection. */
  private async guard(event: string, roundId: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.error(`${event} of round ${roundId}: ${(err as Error).message}`);
    }
  }
}
