import { describe, expect, it } from 'vitest';
import type { RoundUpdate } from '../../src/chat/chat-adapter.interface';
import { BoundedMap } from '../../src/discord/shared/bounded-map.util';
import { RoundUpdateQueue, type RoundSlot } from '../../src/discord/shared/round-update-queue.util';

type Slot = RoundSlot & { edits: string[] };
const progress = (step: number): RoundUpdate => ({ kind: 'progress', dialogueId: 'd', roundId: 'r', step, totalSteps: 10 });

describe(RoundUpdateQueue.name, () => {
  const render = (q: RoundUpdateQueue<Slot>, slot: Slot, update: RoundUpdate, workMs = 0) =>
    q.run('r', slot, async (arrival) => {
      if (!q.statusDue(slot, arrival, update)) return;
      q.markEdited(slot);
      slot.edits.push(update.kind === 'progress' ? `step ${update.step}` : update.kind);
      await new Promise((r) => setTimeout(r, workMs)); // the platform call
    });

  it('runs one round in arrival order and skips status edits a newer update overtook', async () => {
    const q = new RoundUpdateQueue<Slot>(0, () => undefined);
    const slot = q.slot('r', () => ({ edits: [] }));
    // The first edit is slow: steps 2 and 3 queue behind it, and only the newest is shown.
    const first = render(q, slot, progress(1), 30);
    await new Promise((r) => setTimeout(r, 5));
    await Promise.all([first, render(q, slot, progress(2)), render(q, slot, progress(3))]);
    expect(slot.edits).toEqual(['step 1', 'step 3']);
  });

  it('throttles progress edits but always shows the last step', async () => {
    const q = new RoundUpdateQueue<Slot>(10_000, () => undefined);
    const slot = q.slot('r', () => ({ edits: [] }));
    for (const step of [1, 2, 3, 10]) await render(q, slot, progress(step));
    expect(slot.edits).toEqual(['step 1', 'step 10']);
  });

  it('reports a failed edit and keeps serving the round', async () => {
    const errors: string[] = [];
    const q = new RoundUpdateQueue<Slot>(0, (_, err) => errors.push(err.message));
    const slot = q.slot('r', () => ({ edits: [] }));
    await q.run('r', slot, async () => {
      throw new Error('Unknown Message');
    });
    await render(q, slot, { kind: 'started', dialogueId: 'd', roundId: 'r' });
    expect(errors).toEqual(['Unknown Message']);
    expect(slot.edits).toEqual(['started']);
  });

  it('estimates the time left from the pace since the first progress report', () => {
    const q = new RoundUpdateQueue<Slot>(0, () => undefined);
    const slot = q.slot('r', () => ({ edits: [] }));
    const p = (step: number) => progress(step) as Extract<RoundUpdate, { kind: 'progress' }>;
    expect(q.etaSeconds(slot, p(2), 1000)).toBeNull();
    // 4 steps in 2 s → 0.5 s a step; 4 steps left → 2 s.
    expect(q.etaSeconds(slot, p(6), 3000)).toBe(2);
  });
});

describe(BoundedMap.name, () => {
  it('forgets the oldest entry past its capacity; updating a key does not evict', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1).set('b', 2).set('a', 3);
    expect([...m.entries()]).toEqual([['a', 3], ['b', 2]]);
    m.set('c', 4);
    expect([...m.keys()]).toEqual(['b', 'c']);
  });
});
