import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoreErrorCode,
  DialogueQueryService,
  FeedbackService,
  ModerationService,
  TrainingRunService,
  createTestDatabase,
  imagePathFor,
  type PreferencePair,
  type RecordFeedbackInput,
  type RoundView,
  type TestDatabase,
} from '@vca/core';
import { completedRound } from './support/seed';

/**
 * One schema per describe block: exports read the whole schema, so each block sees only the
 * labels it made.
 */
describe(ModerationService.name, () => {
  let db: TestDatabase;
  let feedback: FeedbackService;
  let moderation: ModerationService;
  let seq = 0;

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_mod' });
    feedback = new FeedbackService(db.dataSource);
    moderation = new ModerationService(db.dataSource);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const label = (round: RoundView, candidate: number, signal: RecordFeedbackInput['signal'], userId: string) =>
    feedback.recordFeedback({
      platform: 'slack',
      userId,
      imageId: round.images[candidate]!.id,
      signal,
      source: 'button',
      platformEventId: `m-${++seq}`,
    });
  const pairKey = (p: PreferencePair) => `${p.user_id.slice(0, 4)} ${p.image_0_uid.slice(0, 4)}:${p.label_0} ${p.image_1_uid.slice(0, 4)}:${p.label_1} ${p.origin}`;

  it('exports curated Pick-a-Pic pairs; a banned rater\'s labels leave the export, the training data and come back on unban', async () => {
    const round = await completedRound(db.dataSource, 'a lighthouse at dusk');
    const [i0, i1, i2, i3] = round.images;
    // Alice picks candidate 2: candidate 2 beats each other candidate.
    await label(round, 2, 'pick', 'alice');
    // Bob: up on 3, down on 0 and 1.
    await label(round, 3, 'up', 'bob');
    await label(round, 0, 'down', 'bob');
    await label(round, 1, 'down', 'bob');
    // Carol calls 0 and 1 a tie.
    await label(round, 0, 'tie', 'carol');
    await label(round, 1, 'tie', 'carol');
    // Troll downvotes the best one and upvotes the worst, then gets banned.
    await label(round, 2, 'down', 'troll');
    await label(round, 0, 'up', 'troll');

    const training = new TrainingRunService(db.dataSource);
    const before = await training.recordScheduledRun({ trigger: 'manual' });
    expect(before.data).toMatchObject({ labels: 8, pairs: 3 + 2 + 1, ties: 1, raters: 4, dialogues: 1, rounds: 1 });

    const trollId = feedback.raterIdOf('slack', 'troll');
    await moderation.banRater('mod-1', trollId, 'inverts every vote');

    const { pairs, jsonl } = await moderation.exportPairs('mod-1', { imageDir: '/data/images' });
    expect(pairs.some((p) => p.user_id === trollId)).toBe(false);
    expect(jsonl.includes(trollId)).toBe(false);
    expect(pairs).toHaveLength(3 + 2 + 1);
    const alice = pairs.filter((p) => p.origin === 'pick');
    expect(alice.map((p) => [p.image_0_uid, p.image_1_uid, p.label_0, p.label_1, p.best_image_uid])).toEqual([
      [i0!.id, i2!.id, 0, 1, i2!.id],
      [i1!.id, i2!.id, 0, 1, i2!.id],
      [i2!.id, i3!.id, 1, 0, i2!.id],
    ]);
    const tie = pairs.find((p) => p.origin === 'tie')!;
    expect(tie).toMatchObject({ image_0_uid: i0!.id, image_1_uid: i1!.id, label_0: 0.5, label_1: 0.5, best_image_uid: null });
    const upDown = pairs.filter((p) => p.origin === 'up_down');
    expect(upDown.map((p) => [p.image_0_uid, p.image_1_uid, p.label_0, p.label_1])).toEqual([
      [i0!.id, i3!.id, 0, 1],
      [i1!.id, i3!.id, 0, 1],
    ]);
    expect(alice[0]).toMatchObject({
      caption: 'a lighthouse at dusk',
      image_0_path: imagePathFor('/data/images', i0!.storageKey),
      dialogue_id: round.dialogueId,
      round_id: round.id,
      round_index: 1,
    });
    expect(alice[0]!.image_0_path).toBe(`/data/images/${i0!.storageKey.slice(0, 2)}/${i0!.storageKey}`);
    // JSONL: one parseable object per line.
    expect(jsonl.trim().split('\n').map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(pairs)));

    const after = await training.recordScheduledRun();
    expect(after.data).toMatchObject({ labels: 6, pairs: 5, ties: 1, raters: 3 });
    expect(after.run).toMatchObject({ status: 'skipped', trigger: 'nightly' });
    expect((await training.listRuns()).map((r) => r.id)).toEqual([after.run.id, before.run.id]);

    // Per-dialogue JSON leaves the banned rater's labels out too.
    const dialogues = await moderation.exportDialogues('mod-1', { imageDir: '/data/images' });
    const exported = dialogues.find((d) => d.dialogue_id === round.dialogueId)!;
    const labelsOut = exported.rounds[0]!.images.flatMap((i) => i.labels);
    expect(labelsOut).toHaveLength(6);
    expect(labelsOut.some((l) => l.rater_id === trollId)).toBe(false);
    expect(exported.rounds[0]).toMatchObject({ index: 1, user_text: 'a lighthouse at dusk', refined_prompt: 'a lighthouse at dusk', kept_image_uid: i2!.id });

    await moderation.unbanRater('mod-2', trollId, 'appeal accepted');
    expect((await moderation.exportPairs('mod-2', { imageDir: '/data/images' })).pairs.some((p) => p.user_id === trollId)).toBe(true);
    expect(new Set((await moderation.exportPairs('mod-2', { imageDir: 'x' })).pairs.map(pairKey)).size).toBe(7);
  });

  it('reviews labels: rejected ones leave the export; approval-only export uses approved ones', async () => {
    const round = await completedRound(db.dataSource, 'a cottage');
    const up = await label(round, 1, 'up', 'dave');
    const down = await label(round, 2, 'down', 'dave');
    const pick = await label(round, 3, 'pick', 'erin');

    const recent = await moderation.listRecentLabels({ limit: 3 });
    expect(recent.map((r) => r.eventId)).toEqual([pick.event.id, down.event.id, up.event.id]);
    expect(recent[0]).toMatchObject({ signal: 'pick', prompt: 'a cottage', roundIndex: 1, moderationStatus: 'pending', raterBanned: false });

    expect(await moderation.rejectLabels('mod-1', [pick.event.id], 'picked at random')).toBe(1);
    expect(await moderation.approveLabels('mod-1', [up.event.id, down.event.id])).toBe(2);
    // The rejected pick no longer decides the kept image.
    expect((await new DialogueQueryService(db.dataSource).getRound(round.id)).keptImageId).toBeNull();

    const all = (await moderation.exportPairs('mod-1', { imageDir: '/img' })).pairs.filter((p) => p.round_id === round.id);
    expect(all.map((p) => p.origin)).toEqual(['up_down']);
    const approvedOnly = (await moderation.exportPairs('mod-1', { imageDir: '/img', requireApproval: true })).pairs;
    expect(approvedOnly).toHaveLength(1);
    expect(await moderation.listRecentLabels({ status: 'rejected' })).toHaveLength(1);
  });

  it('deletes an image and a dialogue, reporting storage keys no row uses any more', async () => {
    const round = await completedRound(db.dataSource, 'a barn');
    await label(round, 0, 'up', 'frank');
    const res = await moderation.deleteImage('mod-1', round.images[0]!.id, 'unsafe');
    expect(res).toEqual({ deletedImages: 1, deletedRounds: 0, orphanedStorageKeys: [round.images[0]!.storageKey] });
    expect(await feedback.listEventsForImage(round.images[0]!.id)).toEqual([]);
    await expect(moderation.deleteImage('mod-1', round.images[0]!.id)).rejects.toMatchObject({ code: CoreErrorCode.ImageNotFound });

    // The same PNG (same content hash and key) used by another round stays on disk.
    const shared = `${'ab'.repeat(32)}.png`;
    await db.dataSource.query(`UPDATE images SET storage_key = $1 WHERE id = $2`, [shared, round.images[1]!.id]);
    const other = await completedRound(db.dataSource, 'another barn');
    await db.dataSource.query(`UPDATE images SET storage_key = $1 WHERE id = $2`, [shared, other.images[0]!.id]);
    const gone = await moderation.deleteDialogue('mod-1', round.dialogueId, 'off-topic');
    expect(gone.deletedRounds).toBe(1);
    expect(gone.deletedImages).toBe(3);
    expect(gone.orphanedStorageKeys).toEqual([round.images[2]!.storageKey, round.images[3]!.storageKey].sort());
    await expect(new DialogueQueryService(db.dataSource).getDialogue(round.dialogueId)).rejects.toMatchObject({
      code: CoreErrorCode.DialogueNotFound,
    });
  });

  it('leaves a banned requester\'s own words out of the per-dialogue export', async () => {
    const round = await completedRound(db.dataSource, 'something rude', 'spammer');
    await moderation.banRater('mod-1', feedback.raterIdOf('discord', 'spammer'), 'spam');
    const exported = (await moderation.exportDialogues('mod-1', { imageDir: '/img' })).find((d) => d.dialogue_id === round.dialogueId)!;
    expect(exported.rounds[0]).toMatchObject({ requester_id: feedback.raterIdOf('discord', 'spammer'), user_text: null });
  });

  it('answers malformed ids with domain errors, not database errors', async () => {
    await expect(moderation.approveLabels('mod-1', ['42'])).rejects.toMatchObject({ code: CoreErrorCode.InvalidInput });
    await expect(moderation.deleteImage('mod-1', '../etc')).rejects.toMatchObject({ code: CoreErrorCode.ImageNotFound });
    await expect(moderation.deleteDialogue('mod-1', 'x')).rejects.toMatchObject({ code: CoreErrorCode.DialogueNotFound });
    const queries = new DialogueQueryService(db.dataSource);
    await expect(queries.getRound('nope')).rejects.toMatchObject({ code: CoreErrorCode.RoundNotFound });
    await expect(queries.getDialogue('nope')).rejects.toMatchObject({ code: CoreErrorCode.DialogueNotFound });
  });

  it('writes every action to the audit log', async () => {
    const log = await moderation.listAuditLog({ limit: 1000 });
    const actions = log.map((e) => e.action);
    for (const action of ['ban_rater', 'unban_rater', 'approve_label', 'reject_label', 'delete_image', 'delete_dialogue', 'export_pairs', 'export_dialogues']) {
      expect(actions).toContain(action);
    }
    const ban = log.find((e) => e.action === 'ban_rater' && e.reason === 'inverts every vote')!;
    expect(ban).toMatchObject({ moderatorId: 'mod-1', targetType: 'rater', reason: 'inverts every vote' });
    const deletion = log.find((e) => e.action === 'delete_dialogue')!;
    expect(deletion.details).toMatchObject({ rounds: 1, images: 3 });
    expect(Number(log[0]!.id)).toBeGreaterThan(Number(log[log.length - 1]!.id));
  });

  it('shows moderators who votes against everyone else', async () => {
    const round = await completedRound(db.dataSource, 'a tulip field');
    for (const honest of ['hana', 'ivan', 'jo']) {
      await label(round, 0, 'up', honest);
      await label(round, 1, 'down', honest);
    }
    await label(round, 0, 'down', 'contrarian');
    await label(round, 1, 'up', 'contrarian');
    const raters = await moderation.listRaters({ limit: 5000 });
    const byId = new Map(raters.map((r) => [r.id, r]));
    const hana = byId.get(feedback.raterIdOf('slack', 'hana'))!;
    const contrarian = byId.get(feedback.raterIdOf('slack', 'contrarian'))!;
    expect(hana).toMatchObject({ agreement: 1, comparedLabels: 2, labelsLast24h: 2 });
    expect(contrarian).toMatchObject({ agreement: 0, comparedLabels: 2 });
  });

  it('lists raters with their bans and refuses a ban without a reason', async () => {
    const raters = await moderation.listRaters();
    expect(raters.length).toBeGreaterThan(3);
    await expect(moderation.banRater('mod-1', raters[0]!.id, '  ')).rejects.toMatchObject({ code: CoreErrorCode.InvalidInput });
    await expect(moderation.banRater('mod-1', 'no-such-rater', 'x')).rejects.toMatchObject({ code: CoreErrorCode.RaterNotFound });
    await expect(moderation.banRater('', raters[0]!.id, 'x')).rejects.toMatchObject({ code: CoreErrorCode.InvalidInput });
  });
});
