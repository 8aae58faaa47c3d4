import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DISPATCH_LUA, POSITION_LUA, RELEASE_LUA, SUBMIT_LUA } from './fair-dispatch.scripts';

export interface FairnessOptions {
  /** Rounds of one user in flight (waiting in BullMQ or running) at once. */
  perUserConcurrency: number;
  /** Jobs kept waiting in BullMQ ahead of the workers; small so that our order is the order. */
  lookahead: number;
  /** How long a released round id stays remembered, so a late duplicate is still a no-op. */
  doneTtlSeconds: number;
}

export type FairPosition =
  | { state: 'pending'; ahead: number }
  | { state: 'dispatched' | 'done' | 'unknown'; ahead: 0 };

interface FairScripts {
  vcaFairSubmit(base: string, rid: string, user: string, payload: string): Promise<number>;
  vcaFairDispatch(base: string, waitKey: string, lookahead: number, cap: number): Promise<string[]>;
  vcaFairRelease(base: string, rid: string, ttl: number): Promise<number>;
  vcaFairPosition(base: string, rid: string): Promise<[string, number]>;
}

/**
 * Per-user waiting lists in front of a BullMQ queue, dispatched round-robin across users with a
 * per-user concurrency cap (open-source BullMQ has no groups). Rounds become BullMQ jobs only
 * when dispatched; from then on BullMQ owns retries, backoff and stalled-job recovery.
 *
 * Every step is a Lua script, and `reconcile` repairs what a crash between steps can leave: a
 * round dispatched but never added to BullMQ is added again (same job id, so never twice), and
 * a round whose job finished while no process listened to events is released.
 */
export class FairDispatcher {
  private readonly base: string;
  private readonly waitKey: string;
  private readonly redis: Redis & FairScripts;
  private pumping: Promise<number> | null = null;
  private pumpAgain = false;

  constructor(
    private readonly queue: Queue,
    redis: Redis,
    private readonly jobName: string,
    private readonly jobOptions: JobsOptions,
    private readonly options: FairnessOptions,
  ) {
    this.base = `${queue.qualifiedName}:fair:`;
    this.waitKey = queue.toKey('wait');
    redis.defineCommand('vcaFairSubmit', { numberOfKeys: 0, lua: SUBMIT_LUA });
    redis.defineCommand('vcaFairDispatch', { numberOfKeys: 0, lua: DISPATCH_LUA });
    redis.defineCommand('vcaFairRelease', { numberOfKeys: 0, lua: RELEASE_LUA });
    redis.defineCommand('vcaFairPosition', { numberOfKeys: 0, lua: POSITION_LUA });
    this.redis = redis as Redis & FairScripts;
  }

  /** Queues a round for its user; false when the round id is already known (duplicate). */
  async submit(roundId: string, userId: string, payload: object): Promise<boolean> {
    return (await this.redis.vcaFairSubmit(this.base, roundId, userId, JSON.stringify(payload))) === 1;
  }

  /**
   * Moves as many rounds as the lookahead and caps allow into BullMQ. Calls that overlap within
   * this process coalesce into one more pass; other processes are kept apart by the script.
   */
  async pump(): Promise<number> {
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      let total = 0;
      do {
        this.pumpAgain = false;
        total += await this.dispatchOnce();
      } while (this.pumpAgain);
      return total;
    })().finally(() => {
      this.pumping = null;
    });
    return this.pumping;
  }

  private async dispatchOnce(): Promise<number> {
    const flat = await this.redis.vcaFairDispatch(
      this.base,
      this.waitKey,
      this.options.lookahead,
      this.options.perUserConcurrency,
    );
    for (let i = 0; i < flat.length; i += 2) {
      await this.addToQueue(flat[i]!, flat[i + 1]!);
    }
    return flat.length / 2;
  }

  private async addToQueue(roundId: string, payload: string): Promise<void> {
    if (!payload) return; // released meanwhile by another process
    // The job id is the round id: adding a round twice (here and in a concurrent reconcile) is a no-op.
    await this.queue.add(this.jobName, JSON.parse(payload), { ...this.jobOptions, jobId: roundId });
  }

  /** Frees the round's user slot once its job completed or failed for good. */
  async release(roundId: string): Promise<boolean> {
    return (await this.redis.vcaFairRelease(this.base, roundId, this.options.doneTtlSeconds)) === 1;
  }

  async position(roundId: string): Promise<FairPosition> {
    const [state, ahead] = await this.redis.vcaFairPosition(this.base, roundId);
    return state === 'pending' ? { state, ahead: Number(ahead) } : { state: state as 'done', ahead: 0 };
  }

  /** Repairs in-flight bookkeeping after crashes or missed events; returns rounds released. */
  async reconcile(): Promise<number> {
    const inflight = await this.redis.hkeys(`${this.base}inflight`);
    let released = 0;
    for (const roundId of inflight) {
      const state = await this.queue.getJobState(roundId);
      if (state === 'completed' || state === 'failed') {
        if (await this.release(roundId)) released++;
      } else if (state === 'unknown') {
        const payload = await this.redis.hget(`${this.base}payload`, roundId);
        if (payload) await this.addToQueue(roundId, payload);
      }
    }
    return released;
  }
}
