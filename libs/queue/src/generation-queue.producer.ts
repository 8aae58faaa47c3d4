import { EventEmitter } from 'node:events';
import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  GenerationJobSchema,
  GenerationProgressSchema,
  GenerationResultSchema,
  JobName,
  QueueName,
  type GenerationJobInput,
} from '@vca/shared';
import type { GenerationQueuePort } from '@vca/core';
import { FairDispatcher } from './fair-dispatcher';
import type { GenerationEventListener, GenerationEventMap, GenerationEventName } from './generation-events';
import { createRedisClient, redisOptionsFromUrl, type QueueConnectionOptions } from './redis-connection.util';

/**
 * BullMQ job id of a round. Must equal `generationJobId` of @vca/core (the core's port contract):
 * deriving it from the round makes a duplicate enqueue a no-op.
 */
export function roundJobId(roundId: string): string {
  return `round-${roundId}`;
}

/** The round id of a generation job id, or null for a job id not derived from a round. */
export function roundIdOfJob(jobId: string): string | null {
  return jobId.startsWith('round-') ? jobId.slice('round-'.length) : null;
}

export interface EnqueueResult {
  jobId: string;
  /** True when the round was already queued, running or finished: nothing was added. */
  duplicate: boolean;
}

export interface GenerationProducerOptions extends QueueConnectionOptions {
  /** Rounds of one user in flight at once (default 1). */
  perUserConcurrency?: number;
  /** Jobs kept waiting in BullMQ ahead of the workers (default 2). */
  lookahead?: number;
  /** Attempts per job, first try included (default 3). */
  attempts?: number;
  /** Base delay of the exponential backoff: retry n waits backoffMs · 2^(n-1) (default 5 s). */
  backoffMs?: number;
  /** Interval of the crash-repair pass and of a safety pump (default 5 s). */
  reconcileIntervalMs?: number;
  /**
   * How long `enqueue` waits for Redis before failing with QueueUnavailableError (default 5 s).
   * The command itself stays in the client's offline queue and runs when Redis is back; the
   * round id makes that and any later re-enqueue (core `resumeQueuedRounds`) one job.
   */
  enqueueTimeoutMs?: number;
}

export class QueueUnavailableError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`Redis did not answer ${what} within ${timeoutMs} ms`);
    this.name = 'QueueUnavailableError';
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailableError(what, timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Queue position as shown to the user. `ahead` = rounds that start before this one. */
export interface QueuePosition {
  state: 'pending' | 'waiting' | 'active' | 'retrying' | 'completed' | 'failed' | 'unknown';
  ahead: number;
}

/**
 * Producer side of the generation queue, for the bot: implements the core's GenerationQueuePort
 * (`enqueue`), answers queue positions, and relays progress and results from the workers.
 */
export class GenerationQueueProducer implements GenerationQueuePort {
  readonly queue: Queue;
  private events: QueueEvents | null = null;
  private readonly redis: Redis;
  private readonly dispatcher: FairDispatcher;
  private readonly emitter = new EventEmitter();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: GenerationProducerOptions) {
    const connection = redisOptionsFromUrl(opts.redisUrl);
    this.queue = new Queue(QueueName.Generation, { connection, prefix: opts.prefix });
    this.redis = createRedisClient(opts.redisUrl);
    const jobOptions: JobsOptions = {
      attempts: opts.attempts ?? 3,
      backoff: { type: 'exponential', delay: opts.backoffMs ?? 5_000 },
      // Kept a day so the GPU server can answer /v1/jobs/:id and reconcile can see the outcome.
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
    this.dispatcher = new FairDispatcher(this.queue, this.redis, JobName.Generate, jobOptions, {
      perUserConcurrency: opts.perUserConcurrency ?? 1,
      lookahead: opts.lookahead ?? 2,
      doneTtlSeconds: 24 * 3600,
    });
    // An 'error' event without a listener would crash the process on a Redis restart;
    // ioredis reconnects by itself.
    this.redis.on('error', () => undefined);
    this.queue.on('error', () => undefined);
  }

  /** Starts listening and the periodic repair pass. */
  async start(): Promise<void> {
    const events = new QueueEvents(QueueName.Generation, {
      connection: redisOptionsFromUrl(this.opts.redisUrl),
      prefix: this.opts.prefix,
      autorun: false,
    });
    events.on('error', () => undefined);
    this.events = events;
    this.wireEvents(events);
    void events.run().catch(() => undefined);
    await events.waitUntilReady();
    await this.dispatcher.reconcile();
    await this.dispatcher.pump();
    this.timer = setInterval(() => void this.tick(), this.opts.reconcileIntervalMs ?? 5_000);
    this.timer.unref();
  }

  /**
   * GenerationQueuePort: queues a round for generation. A round seen before is a no-op
   * (`duplicate: true`), whether the first copy is pending, running or finished within a day.
   */
  async enqueue(job: GenerationJobInput): Promise<EnqueueResult> {
    const payload = GenerationJobSchema.parse(job);
    const jobId = roundJobId(payload.roundId);
    const timeoutMs = this.opts.enqueueTimeoutMs ?? 5_000;
    const accepted = await withTimeout(this.dispatcher.submit(jobId, payload.requesterId, payload), timeoutMs, 'enqueue');
    // Not awaited: under load the pass may coalesce many rounds, and the caller's latency should
    // not include them. The round is safely queued already; a failed pass is redone by the timer.
    void this.dispatcher.pump().catch(() => undefined);
    return { jobId, duplicate: !accepted };
  }

  /** Resolves once every round submitted so far has been considered for dispatch (tests). */
  async flush(): Promise<void> {
    await this.dispatcher.pump();
  }

  /** True when Redis answers within the timeout (health checks must not hang on an outage). */
  async ping(timeoutMs = 1_000): Promise<boolean> {
    try {
      return (await withTimeout(this.redis.ping(), timeoutMs, 'ping')) === 'PONG';
    } catch {
      return false;
    }
  }

  async position(roundId: string): Promise<QueuePosition> {
    const jobId = roundJobId(roundId);
    const fair = await this.dispatcher.position(jobId);
    if (fair.state === 'pending') {
      const waiting = await this.queue.getWaitingCount();
      return { state: 'pending', ahead: waiting + fair.ahead };
    }
    const state = await this.queue.getJobState(jobId);
    switch (state) {
      case 'active':
        return { state: 'active', ahead: 0 };
      case 'waiting': {
        // BullMQ pushes new jobs on the left and workers take from the right.
        const ids = await this.redis.lrange(this.queue.toKey('wait'), 0, -1);
        const index = ids.indexOf(jobId);
        return { state: 'waiting', ahead: index < 0 ? 0 : ids.length - 1 - index };
      }
      case 'delayed':
        return { state: 'retrying', ahead: 0 };
      case 'completed':
      case 'failed':
        return { state, ahead: 0 };
      default:
        return { state: fair.state === 'done' ? 'completed' : 'unknown', ahead: 0 };
    }
  }

  on<K extends GenerationEventName>(event: K, listener: GenerationEventListener<K>): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends GenerationEventName>(event: K, listener: GenerationEventListener<K>): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Runs the crash-repair pass now (also runs on a timer). */
  async reconcile(): Promise<void> {
    await this.dispatcher.reconcile();
    await this.dispatcher.pump();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // A graceful close waits for Redis (QueueEvents' forever); during an outage, stop waiting.
    const closing = Promise.allSettled([this.events?.close(), this.queue.close()]);
    await withTimeout(closing, 2_000, 'close').catch(() => undefined);
    this.redis.disconnect();
  }

  /** Emits with the round id in place of the job id; jobs not derived from a round are ignored. */
  private emit<K extends GenerationEventName>(event: K, ...args: GenerationEventMap[K]): void {
    const roundId = roundIdOfJob(args[0]);
    if (roundId) this.emitter.emit(event, roundId, ...args.slice(1));
  }

  private async tick(): Promise<void> {
    try {
      await this.reconcile();
    } catch {
      // Redis unreachable (e.g. restarting): the next tick tries again.
    }
  }

  /** Frees the user's slot and lets the next round in; errors wait for the next tick. */
  private finish(jobId: string): void {
    void this.dispatcher
      .release(jobId)
      .then(() => this.dispatcher.pump())
      .catch(() => undefined);
  }

  private wireEvents(events: QueueEvents): void {
    events.on('active', ({ jobId }) => {
      this.emit('active', jobId);
      // A worker took a job off BullMQ's list: room for the next round.
      void this.dispatcher.pump().catch(() => undefined);
    });
    events.on('progress', ({ jobId, data }) => {
      const progress = GenerationProgressSchema.safeParse(data);
      if (progress.success) this.emit('progress', jobId, progress.data);
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      this.finish(jobId);
      const raw: unknown = typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue;
      const result = GenerationResultSchema.safeParse(raw);
      if (result.success) this.emit('completed', jobId, result.data);
      else this.emit('failed', jobId, `worker returned an invalid result: ${result.error.message}`);
    });
    // QueueEvents 'failed' fires only when a job fails for good; attempts that will be retried
    // emit 'retries-exhausted'/'delayed' instead, so we learn about retries from 'delayed'.
    events.on('failed', ({ jobId, failedReason }) => {
      this.finish(jobId);
      this.emit('failed', jobId, failedReason);
    });
    events.on('delayed', ({ jobId }) => {
      void this.queue
        .getJob(jobId)
        .then((job) => job && this.emit('retrying', jobId, job.failedReason ?? 'retrying'))
        .catch(() => undefined);
    });
  }
}
