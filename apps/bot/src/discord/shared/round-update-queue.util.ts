import { performance } from 'node:perf_hooks';
import type { RoundUpdate } from '../../chat/chat-adapter.interface';

/** What every platform remembers about a round's working message. */
export interface RoundSlot {
  index?: number;
  /** Updates of one round run one after another, in arrival order. */
  chain: Promise<void>;
  /** Arrival number of the newest update. */
  latest: number;
  lastEditAt: number;
  /** First progress report seen (time, step): the base of the ETA. */
  progressFrom?: { at: number; step: number };
}

/**
 * Orders the edits of each round's working message (Discord and Slack): one round's updates run
 * one after another; a status edit overtaken by a newer update is skipped; progress edits come
 * at most every `minEditGapMs` (both platforms rate-limit message edits), except the last step.
 */
export class RoundUpdateQueue<S extends RoundSlot> {
  private readonly slots = new Map<string, S>();

  constructor(
    private readonly minEditGapMs: number,
    private readonly onError: (roundId: string, err: Error) => void,
  ) {}

  /** The round's slot, created from `init` on first sight (e.g. after a restart). */
  slot(roundId: string, init: () => Omit<S, keyof RoundSlot>): S {
    let slot = this.slots.get(roundId);
    if (!slot) {
      slot = { ...init(), chain: Promise.resolve(), latest: 0, lastEditAt: Number.NEGATIVE_INFINITY } as S;
      this.slots.set(roundId, slot);
    }
    return slot;
  }

  /** Runs `task` after the round's earlier updates; failures are reported, never thrown. */
  run(roundId: string, slot: S, task: (arrival: number) => Promise<void>): Promise<void> {
    const arrival = ++slot.latest;
    const next = slot.chain.then(() => task(arrival)).catch((err: Error) => this.onError(roundId, err));
    slot.chain = next;
    return next;
  }

  /** Whether a status update (queued/started/progress/retrying) is still worth an edit. */
  statusDue(slot: S, arrival: number, update: RoundUpdate): boolean {
    if (arrival < slot.latest) return false;
    if (update.kind !== 'progress' || update.step >= update.totalSteps) return true;
    return performance.now() - slot.lastEditAt >= this.minEditGapMs;
  }

  /**
   * Seconds left for a running round, from the pace since the first progress report seen
   * (remaining steps × mean step time); null until two reports give a pace.
   */
  etaSeconds(slot: S, update: Extract<RoundUpdate, { kind: 'progress' }>, now = performance.now()): number | null {
    if (!slot.progressFrom || update.step < slot.progressFrom.step) {
      slot.progressFrom = { at: now, step: update.step };
      return null;
    }
    const steps = update.step - slot.progressFrom.step;
    if (steps <= 0) return null;
    return Math.ceil((((now - slot.progressFrom.at) / steps) * (update.totalSteps - update.step)) / 1000);
  }

  markEdited(slot: S): void {
    slot.lastEditAt = performance.now();
  }

  /** The round reached its end (result posted or failed): forget it. */
  done(roundId: string): void {
    this.slots.delete(roundId);
  }
}
