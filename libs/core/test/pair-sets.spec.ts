import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CuratedDataService,
  ModerationService,
  buildPreferencePairs,
  communityIdOf,
  createTestDatabase,
  dataOfCommunity,
  mismatchedNegatives,
  pairCountsByCommunity,
  pairTrainingWeights,
  splitByDialogue,
  type CuratedData,
  type CuratedLabel,
  type CuratedRound,
  type PreferencePair,
  type TestDatabase,
} from '@vca/core';
import { TrainingSeeder } from './support/training-seed';

/** A snapshot built by hand: `dialogues` dialogues of `roundsPer` rounds with 4 candidates. */
function snapshot(dialogues: number, roundsPer = 1, community = 'web:local'): CuratedData {
  const rounds = new Map<string, CuratedRound>();
  const labels: CuratedLabel[] = [];
  let t = 0;
  for (let d = 0; d < dialogues; d++) {
    for (let r = 0; r < roundsPer; r++) {
      const roundId = `round-${d}-${r}`;
      rounds.set(roundId, {
        roundId,
        dialogueId: `dialogue-${d}`,
        communityId: community,
        roundIndex: r + 1,
        caption: `caption ${d}/${r}`,
        images: [0, 1, 2, 3].map((c) => ({ imageId: `img-${d}-${r}-${c}`, roundId, candidateIndex: c, storageKey: `${String(d).padStart(2, '0')}${'a'.repeat(62)}.png` })),
      });
      const base = { roundId, dialogueId: `dialogue-${d}`, roundIndex: r + 1, source: 'button' as const, moderationStatus: 'pending' as const };
      labels.push({ ...base, eventId: `e${t++}`, raterId: 'alice', imageId: `img-${d}-${r}-${(d + r) % 4}`, candidateIndex: (d + r) % 4, signal: 'pick', createdAt: new Date(t) });
      labels.push({ ...base, eventId: `e${t++}`, raterId: 'bob', imageId: `img-${d}-${r}-0`, candidateIndex: 0, signal: 'up', createdAt: new Date(t) });
      labels.push({ ...base, eventId: `e${t++}`, raterId: 'bob', imageId: `img-${d}-${r}-3`, candidateIndex: 3, signal: 'down', createdAt: new Date(t) });
      labels.push({ ...base, eventId: `e${t++}`, raterId: 'carol', imageId: `img-${d}-${r}-1`, candidateIndex: 1, signal: 'tie', createdAt: new Date(t) });
      labels.push({ ...base, eventId: `e${t++}`, raterId: 'carol', imageId: `img-${d}-${r}-2`, candidateIndex: 2, signal: 'tie', createdAt: new Date(t) });
    }
  }
  return { labels, rounds };
}

describe('preference pair sets (pure)', () => {
  it('builds pick, up_down and tie pairs; ties are kept as 0.5/0.5 soft labels', () => {
    const pairs = buildPreferencePairs(snapshot(1), '/img');
    const origins = pairs.map((p) => p.origin);
    expect(origins.filter((o) => o === 'pick')).toHaveLength(3);
    expect(origins.filter((o) => o === 'up_down')).toHaveLength(1);
    const ties = pairs.filter((p) => p.origin === 'tie');
    expect(ties).toHaveLength(1);
    expect(ties[0]).toMatchObject({ label_0: 0.5, label_1: 0.5, best_image_uid: null, user_id: 'carol' });
  });

  it('weighs pairs whose loser its own rater thumbed down by the given weight, others 1', () => {
    const data = snapshot(1);
    // alice also thumbs candidate 1 down; her pick (candidate 0) over it repeats that judgement.
    data.labels.push({ ...data.labels[0]!, eventId: 'extra', imageId: 'img-0-0-1', candidateIndex: 1, signal: 'down' });
    const pairs = buildPreferencePairs(data, '/img');
    const weights = pairTrainingWeights(data, pairs, { thumbedDownLoserWeight: 0.1 });
    const byKey = new Map(pairs.map((p, i) => [`${p.origin}:${p.user_id}:${p.image_0_uid}:${p.image_1_uid}`, weights[i]]));
    expect(byKey.get('up_down:bob:img-0-0-0:img-0-0-3')).toBe(0.1);
    expect(byKey.get('pick:alice:img-0-0-0:img-0-0-1')).toBe(0.1);
    expect(byKey.get('pick:alice:img-0-0-0:img-0-0-2')).toBe(1);
    expect(byKey.get('tie:carol:img-0-0-1:img-0-0-2')).toBe(1);
    // Bob's thumb-down of candidate 3 does not touch alice's pick over it.
    expect(byKey.get('pick:alice:img-0-0-0:img-0-0-3')).toBe(1);
  });

  it('splits by whole dialogues: none on both sides, stable across calls and as data grows', () => {
    const pairs = buildPreferencePairs(snapshot(40, 3), '/img');
    const split = splitByDialogue(pairs, { heldOutShare: 0.25, seed: 7 });
    const trainDialogues = new Set(split.train.map((p) => p.dialogue_id));
    const heldDialogues = new Set(split.heldOut.map((p) => p.dialogue_id));
    expect([...trainDialogues].filter((d) => heldDialogues.has(d))).toEqual([]);
    expect(split.train.length + split.heldOut.length).toBe(pairs.length);
    expect(heldDialogues.size).toBeGreaterThan(2);
    expect(heldDialogues.size).toBeLessThan(20);
    expect(split.heldOutDialogues).toEqual([...heldDialogues].sort());
    // Same input, same seed: same split; a shuffled input keeps every dialogue on its side.
    expect(splitByDialogue([...pairs].reverse(), { heldOutShare: 0.25, seed: 7 }).heldOutDialogues).toEqual(split.heldOutDialogues);
    // More dialogues later: the earlier ones stay where they were.
    const grown = splitByDialogue(buildPreferencePairs(snapshot(80, 3), '/img'), { heldOutShare: 0.25, seed: 7 });
    for (const d of split.heldOutDialogues) expect(grown.heldOutDialogues).toContain(d);
    // Another seed gives another split.
    expect(splitByDialogue(pairs, { heldOutShare: 0.25, seed: 8 }).heldOutDialogues).not.toEqual(split.heldOutDialogues);
    expect(() => splitByDialogue(pairs, { heldOutShare: 1 })).toThrow(RangeError);
  });

  it('leaves neither side empty with two or more dialogues', () => {
    const pairs = buildPreferencePairs(snapshot(2), '/img');
    for (const share of [0.001, 0.999]) {
      const split = splitByDialogue(pairs, { heldOutShare: share, seed: 1 });
      expect(split.heldOutDialogues).toHaveLength(1);
      expect(split.train.length).toBeGreaterThan(0);
    }
    expect(splitByDialogue(pairs, { heldOutShare: 0 }).heldOut).toEqual([]);
  });

  it('mismatched negatives: the preferred image beats another dialogue\'s image under this round\'s caption, deterministically', () => {
    const data = snapshot(6);
    const pairs = buildPreferencePairs(data, '/img');
    const negatives = mismatchedNegatives(data, pairs, { perRound: 2, seed: 3, imageDir: '/img' });
    expect(negatives).toHaveLength(6 * 2);
    for (const n of negatives) {
      expect(n.origin).toBe('mismatch');
      const round = data.rounds.get(n.round_id)!;
      expect(n.caption).toBe(round.caption);
      const winner = n.best_image_uid!;
      const loser = winner === n.image_0_uid ? n.image_1_uid : n.image_0_uid;
      expect(round.images.map((i) => i.imageId)).toContain(winner);
      // The other image was generated in another dialogue.
      const loserRound = [...data.rounds.values()].find((r) => r.images.some((i) => i.imageId === loser))!;
      expect(loserRound.dialogueId).not.toBe(n.dialogue_id);
      expect(winner === n.image_0_uid ? [n.label_0, n.label_1] : [n.label_1, n.label_0]).toEqual([1, 0]);
      // The winner was preferred by a real label of this round.
      expect(pairs.some((p) => p.round_id === n.round_id && p.best_image_uid === winner && p.user_id === n.user_id)).toBe(true);
    }
    // Both sides get the winner (no position shortcut), and the result is reproducible.
    expect(new Set(negatives.map((n) => n.best_image_uid === n.image_0_uid)).size).toBe(2);
    expect(mismatchedNegatives(data, [...pairs].reverse(), { perRound: 2, seed: 3, imageDir: '/img' })).toEqual(negatives);
    expect(mismatchedNegatives(data, pairs, { perRound: 2, seed: 4, imageDir: '/img' })).not.toEqual(negatives);
  });

  it('mismatched negatives draw only from dialogues of the given pairs (no held-out leak)', () => {
    const data = snapshot(12);
    const split = splitByDialogue(buildPreferencePairs(data, '/img'), { heldOutShare: 0.3, seed: 2 });
    const held = new Set(split.heldOutDialogues);
    const negatives = mismatchedNegatives(data, split.train, { perRound: 3, seed: 1, imageDir: '/img' });
    expect(negatives.length).toBeGreaterThan(0);
    const dialogueOfImage = new Map([...data.rounds.values()].flatMap((r) => r.images.map((i) => [i.imageId, r.dialogueId] as const)));
    for (const n of negatives) {
      expect(held.has(dialogueOfImage.get(n.image_0_uid)!)).toBe(false);
      expect(held.has(dialogueOfImage.get(n.image_1_uid)!)).toBe(false);
    }
    // A single dialogue has no other dialogue to draw from.
    const one = snapshot(1);
    expect(mismatchedNegatives(one, buildPreferencePairs(one, '/img'), { imageDir: '/img' })).toEqual([]);
  });

  it('filters a snapshot by community and counts pairs per community', () => {
    const a = snapshot(2, 1, 'discord:g1');
    const b = snapshot(3, 1, 'slack:T1');
    // Distinct ids for the second community.
    const rename = (s: string) => s.replace(/^(round|img|dialogue)-/, '$1-b');
    const bRounds = new Map(
      [...b.rounds.values()].map((r) => [
        rename(r.roundId),
        { ...r, roundId: rename(r.roundId), dialogueId: rename(r.dialogueId), images: r.images.map((i) => ({ ...i, imageId: rename(i.imageId), roundId: rename(i.roundId) })) },
      ]),
    );
    const bLabels = b.labels.map((l) => ({ ...l, eventId: `b${l.eventId}`, roundId: rename(l.roundId), imageId: rename(l.imageId), dialogueId: rename(l.dialogueId) }));
    const all: CuratedData = { labels: [...a.labels, ...bLabels], rounds: new Map([...a.rounds, ...bRounds]) };
    const pairs = buildPreferencePairs(all, '/img');
    expect(pairCountsByCommunity(all, pairs)).toEqual({ 'discord:g1': 2 * 5, 'slack:T1': 3 * 5 });
    const onlyB = dataOfCommunity(all, 'slack:T1');
    expect(onlyB.rounds.size).toBe(3);
    expect(onlyB.labels.every((l) => bRounds.has(l.roundId))).toBe(true);
    expect(communityIdOf('discord', 'g1')).toBe('discord:g1');
  });
});

describe('curated data for training (database)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_pairsets' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('loads each round\'s community and filters by it', async () => {
    const seed = new TrainingSeeder(db.dataSource);
    const g = await seed.round('discord', 'guild-7');
    const w = await seed.round('web', 'local');
    await seed.label(g, 0, 'pick', 'ann', 'discord');
    await seed.label(w, 1, 'pick', 'ben', 'web');
    const curated = new CuratedDataService(db.dataSource);
    const all = await curated.load();
    expect(all.rounds.get(g.id)!.communityId).toBe('discord:guild-7');
    expect(all.rounds.get(w.id)!.communityId).toBe('web:local');
    const web = await curated.load({ communityId: communityIdOf('web', 'local') });
    expect([...web.rounds.keys()]).toEqual([w.id]);
    expect(web.labels.map((l) => l.roundId)).toEqual([w.id]);
  });

  it('banned raters, rejected labels and revoked labels never reach pairs (nor mismatched negatives)', async () => {
    const seed = new TrainingSeeder(db.dataSource);
    const moderation = new ModerationService(db.dataSource);
    const curated = new CuratedDataService(db.dataSource);
    const r1 = await seed.round('slack', 'T-bans');
    const r2 = await seed.round('slack', 'T-bans');
    await seed.label(r1, 0, 'pick', 'good', 'slack');
    await seed.label(r2, 1, 'pick', 'good', 'slack');
    await seed.label(r1, 3, 'pick', 'troll', 'slack');
    await seed.label(r2, 2, 'up', 'troll', 'slack');
    await seed.label(r2, 3, 'down', 'troll', 'slack');
    const rejected = await seed.label(r1, 1, 'up', 'sloppy', 'slack');
    await seed.label(r1, 2, 'down', 'sloppy', 'slack');
    await seed.label(r2, 0, 'tie', 'fickle', 'slack');
    await seed.label(r2, 1, 'tie', 'fickle', 'slack');
    const community = communityIdOf('slack', 'T-bans');
    const raters = (p: PreferencePair[]) => new Set(p.map((x) => x.user_id));
    const before = buildPreferencePairs(await curated.load({ communityId: community }), '/img');
    expect(raters(before).size).toBe(4);

    await moderation.banRater('mod', seed.feedback.raterIdOf('slack', 'troll'), 'inverts votes');
    await moderation.rejectLabels('mod', [rejected.event.id]);
    await seed.feedback.revokeFeedback({ platform: 'slack', userId: 'fickle', imageId: r2.images[0]!.id, signal: 'tie', source: 'button' });

    const data = await curated.load({ communityId: community });
    const pairs = buildPreferencePairs(data, '/img');
    const ids = raters(pairs);
    expect(ids).toEqual(new Set([seed.feedback.raterIdOf('slack', 'good')]));
    expect(pairs.every((p) => p.origin === 'pick')).toBe(true);
    expect(data.labels.some((l) => l.eventId === rejected.event.id)).toBe(false);
    const negatives = mismatchedNegatives(data, pairs, { perRound: 2, imageDir: '/img' });
    expect(negatives.length).toBe(4);
    expect(raters(negatives)).toEqual(ids);
  });
});
