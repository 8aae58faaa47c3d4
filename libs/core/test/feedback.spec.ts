import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoreErrorCode,
  DialogueQueryService,
  FeedbackService,
  ModerationService,
  type RecordFeedbackInput,
  type RoundView,
  type TestDatabase,
  createTestDatabase,
} from '@vca/core';
import { completedRound } from './support/seed';

describe(FeedbackService.name, () => {
  let db: TestDatabase;
  let feedback: FeedbackService;
  let queries: DialogueQueryService;
  let eventSeq = 0;

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_feedback' });
    feedback = new FeedbackService(db.dataSource);
    queries = new DialogueQueryService(db.dataSource);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const label = (round: RoundView, candidate: number, signal: RecordFeedbackInput['signal'], userId = 'rita', extra: Partial<RecordFeedbackInput> = {}) =>
    feedback.recordFeedback({
      platform: 'discord',
      userId,
      imageId: round.images[candidate]!.id,
      signal,
      source: 'reaction',
      platformEventId: `evt-${++eventSeq}`,
      ...extra,
    });
  const countRows = async (sql: string, params: unknown[]) => Number((await db.dataSource.query(sql, params))[0].n);

  it('stores a label once: a repeated platform event id is a no-op', async () => {
    const round = await completedRound(db.dataSource);
    const input: RecordFeedbackInput = {
      platform: 'discord',
      userId: 'rita',
      imageId: round.images[0]!.id,
      signal: 'up',
      source: 'button',
      platformEventId: 'interaction-42',
    };
    const first = await feedback.recordFeedback(input);
    const second = await feedback.recordFeedback(input);
    expect(first.status).toBe('recorded');
    expect(second.status).toBe('duplicate');
    expect(second.event.id).toBe(first.event.id);
    expect(await countRows('SELECT count(*) AS n FROM feedback_events WHERE image_id = $1', [round.images[0]!.id])).toBe(1);
    expect(first.event.raterId).toBe(feedback.raterIdOf('discord', 'rita'));
    expect(first.event.raterId).not.toContain('rita');
  });

  it('treats concurrent deliveries of one event as one label', async () => {
    const round = await completedRound(db.dataSource);
    const input: RecordFeedbackInput = {
      platform: 'discord',
      userId: 'rita',
      imageId: round.images[1]!.id,
      signal: 'tie',
      source: 'reaction',
      platformEventId: 'burst-1',
    };
    const results = await Promise.all([1, 2, 3, 4].map(() => feedback.recordFeedback(input)));
    expect(results.filter((r) => r.status === 'recorded')).toHaveLength(1);
    expect(await countRows('SELECT count(*) AS n FROM feedback_events WHERE platform_event_id = $1', ['burst-1'])).toBe(1);
  });

  it('revokes a removed reaction without deleting it; adding it back is a new label', async () => {
    const round = await completedRound(db.dataSource);
    const image = round.images[2]!;
    const added = await label(round, 2, 'up');
    const revoked = await feedback.revokeFeedback({ platform: 'discord', userId: 'rita', imageId: image.id, signal: 'up', source: 'reaction' });
    expect(revoked.revokedEventIds).toEqual([added.event.id]);
    const events = await feedback.listEventsForImage(image.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.revokedAt).toBeInstanceOf(Date);
    expect((await queries.getRound(round.id)).images[2]!.feedback.up).toBe(0);

    const again = await label(round, 2, 'up');
    expect(again.status).toBe('recorded');
    expect((await queries.getRound(round.id)).images[2]!.feedback.up).toBe(1);
  });

  it('lets up and down replace each other for one rater', async () => {
    const round = await completedRound(db.dataSource);
    const up = await label(round, 0, 'up');
    const down = await label(round, 0, 'down');
    expect(down.superseded).toEqual([up.event.id]);
    expect((await queries.getRound(round.id)).images[0]!.feedback).toEqual({ up: 0, down: 1, pick: 0, tie: 0 });
  });

  it('counts a rater once per signal even through two sources, and ignores a repeated active label', async () => {
    const round = await completedRound(db.dataSource);
    await label(round, 1, 'up', 'rita', { source: 'reaction' });
    await label(round, 1, 'up', 'rita', { source: 'button' });
    const repeat = await label(round, 1, 'up', 'rita', { source: 'button' });
    expect(repeat.status).toBe('duplicate');
    await label(round, 1, 'up', 'sam');
    expect((await queries.getRound(round.id)).images[1]!.feedback.up).toBe(2);
  });

  it('keeps the latest pick as the round\'s kept image; one pick per rater; revoking falls back', async () => {
    const round = await completedRound(db.dataSource);
    const a = await label(round, 1, 'pick', 'rita');
    expect(a.keptImageId).toBe(round.images[1]!.id);
    const b = await label(round, 3, 'pick', 'rita');
    expect(b.superseded).toEqual([a.event.id]);
    expect(b.keptImageId).toBe(round.images[3]!.id);
    await label(round, 2, 'pick', 'sam');
    expect((await queries.getRound(round.id)).keptImageId).toBe(round.images[2]!.id);
    const revoked = await feedback.revokeFeedback({
      platform: 'discord',
      userId: 'sam',
      imageId: round.images[2]!.id,
      signal: 'pick',
      source: 'reaction',
    });
    expect(revoked.keptImageId).toBe(round.images[3]!.id);
  });

  it('tells a user which of their labels are active, per image', async () => {
    const round = await completedRound(db.dataSource);
    await label(round, 0, 'up', 'vera', { source: 'button' });
    await label(round, 0, 'pick', 'vera', { source: 'reaction' });
    await label(round, 1, 'down', 'vera', { source: 'button' });
    await feedback.revokeFeedback({ platform: 'discord', userId: 'vera', imageId: round.images[1]!.id, signal: 'down', source: 'button' });
    await label(round, 2, 'up', 'walt');
    const ids = round.images.map((i) => i.id);
    const mine = await feedback.activeSignalsOf({ platform: 'discord', userId: 'vera' }, ids);
    expect(Object.fromEntries(mine)).toEqual({ [ids[0]!]: ['up', 'pick'] });
    const buttons = await feedback.activeSignalsOf({ platform: 'discord', userId: 'vera' }, ids, 'button');
    expect(Object.fromEntries(buttons)).toEqual({ [ids[0]!]: ['up'] });
    expect(await queries.hasDialogue('discord', 'no-such-thread')).toBe(false);
  });

  it('refuses labels from a banned rater with a clear error', async () => {
    const round = await completedRound(db.dataSource);
    await label(round, 0, 'up', 'troll');
    await new ModerationService(db.dataSource).banRater('mod-1', feedback.raterIdOf('discord', 'troll'), 'vote brigading');
    const error = await label(round, 1, 'up', 'troll').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: CoreErrorCode.RaterBanned, message: expect.stringMatching(/banned/) });
  });

  it('reports a missing image and invalid input', async () => {
    await expect(
      feedback.recordFeedback({
        platform: 'web',
        userId: 'u',
        imageId: '00000000-0000-4000-8000-000000000000',
        signal: 'up',
        source: 'web',
        platformEventId: 'x1',
      }),
    ).rejects.toMatchObject({ code: CoreErrorCode.ImageNotFound });
    await expect(
      feedback.recordFeedback({ platform: 'web', userId: 'u', imageId: 'nope', signal: 'up', source: 'web', platformEventId: 'x2' }),
    ).rejects.toMatchObject({ code: CoreErrorCode.InvalidInput, message: expect.stringContaining('imageId') });
    await expect(
      feedback.recordFeedback({ platform: 'web', userId: 'u', imageId: '00000000-0000-4000-8000-000000000000', signal: 'love' as never, source: 'web', platformEventId: 'x3' }),
    ).rejects.toMatchObject({ code: CoreErrorCode.InvalidInput });
  });
});
