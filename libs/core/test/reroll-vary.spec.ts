import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConversationService,
  CoreErrorCode,
  ModerationService,
  RuleBasedPromptRefiner,
  createTestDatabase,
  generationJobId,
  pseudonymousId,
  type RoundView,
  type TestDatabase,
} from '@vca/core';
import { RecordingQueue, fakeResult } from './support/fakes';

describe('ConversationService reroll and vary', () => {
  let db: TestDatabase;
  let queue: RecordingQueue;
  let conversation: ConversationService;
  let thread = 0;

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_reroll' });
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(() => {
    queue = new RecordingQueue();
    conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner());
    thread += 1;
  });

  const say = (text: string, userId = 'alice') =>
    conversation.handleMessage({ platform: 'discord', workspaceId: 'g', channelId: 'c', threadId: `t-${thread}`, userId, text });
  const complete = async (): Promise<RoundView> => (await conversation.recordGenerationResult(fakeResult(queue.last())))!;

  /** Round 1 (txt2img) and round 2 (img2img from candidate 1), both completed. */
  async function twoRounds(): Promise<{ r1: RoundView; r2: RoundView }> {
    await say('a blue car in a city');
    const r1 = await complete();
    // Nobody rated round 1: round 2 starts from candidate 0.
    await say('make it red');
    const r2 = await complete();
    return { r1, r2 };
  }

  it('rerolls a round: same prompt, parent and strengths, fresh seeds, the clicker recorded', async () => {
    const { r1, r2 } = await twoRounds();
    const res = await conversation.reroll({ platform: 'discord', userId: 'bob', roundId: r2.id, requestId: 'interaction-1' });
    expect(res.duplicate).toBe(false);
    expect(res.jobId).toBe(generationJobId(res.round.id));
    expect(res.round).toMatchObject({
      index: 3,
      origin: 'reroll',
      sourceRoundId: r2.id,
      userText: '(reroll)',
      refinedPrompt: r2.refinedPrompt,
      negativePrompt: r2.negativePrompt,
      mode: 'img2img',
      parentImageId: r1.images[0]!.id,
      edits: [],
      status: 'queued',
    });
    expect(res.round.requesterId).toBe(pseudonymousId('discord', 'bob'));
    const job = queue.last();
    expect(job).toMatchObject({ roundId: res.round.id, prompt: r2.refinedPrompt, initImageKey: r1.images[0]!.storageKey });
    expect(job.requesterId).toBe(pseudonymousId('discord', 'bob'));
    expect(job.candidates.map((c) => c.strength)).toEqual(r2.images.map((i) => i.strength));
    const oldSeeds = new Set(r2.images.map((i) => i.seed));
    expect(job.candidates.filter((c) => oldSeeds.has(c.seed))).toEqual([]);
  });

  it('rerolls round 1 as text-to-image', async () => {
    await say('a lighthouse at dusk');
    const r1 = await complete();
    const res = await conversation.reroll({ platform: 'discord', userId: 'alice', roundId: r1.id, requestId: 'i-2' });
    expect(res.round).toMatchObject({ index: 2, mode: 'txt2img', parentImageId: null, refinedPrompt: 'a lighthouse at dusk' });
    expect(queue.last().initImageKey).toBeNull();
    expect(queue.last().candidates.every((c) => c.strength === 1)).toBe(true);
  });

  it('varies a candidate: img2img from it with the same prompt at low strengths; the next message starts from the variation', async () => {
    const { r2 } = await twoRounds();
    const chosen = r2.images[2]!;
    const res = await conversation.vary({ platform: 'discord', userId: 'carol', imageId: chosen.id, requestId: 'i-3' });
    expect(res.round).toMatchObject({ index: 3, origin: 'vary', sourceRoundId: r2.id, userText: '(vary #3)', mode: 'img2img', parentImageId: chosen.id });
    const job = queue.last();
    expect(job).toMatchObject({ prompt: r2.refinedPrompt, initImageKey: chosen.storageKey });
    expect(job.candidates.map((c) => c.strength)).toEqual([0.2, 0.2667, 0.3333, 0.4]);
    const r3 = await complete();
    const r4 = await say('at night');
    expect(r4.round).toMatchObject({ index: 4, origin: 'message', parentImageId: r3.images[0]!.id, refinedPrompt: `${r2.refinedPrompt}, at night` });
  });

  it('answers a redelivered click with the round it already made, also when deliveries race', async () => {
    const { r2 } = await twoRounds();
    const first = await conversation.reroll({ platform: 'discord', userId: 'bob', roundId: r2.id, requestId: 'dup-1' });
    const again = await conversation.reroll({ platform: 'discord', userId: 'bob', roundId: r2.id, requestId: 'dup-1' });
    expect(again).toMatchObject({ duplicate: true, jobId: first.jobId });
    expect(again.round.id).toBe(first.round.id);
    // One job for the round (the duplicate may enqueue again, idempotent per job id).
    expect([...queue.jobs.keys()].filter((id) => id === first.jobId)).toHaveLength(1);
    expect(queue.jobs.size).toBe(3);

    // A different click while that round runs is refused like a message.
    await expect(conversation.reroll({ platform: 'discord', userId: 'bob', roundId: r2.id, requestId: 'dup-2' })).rejects.toMatchObject({
      code: CoreErrorCode.RoundInProgress,
    });
    await expect(say('more wheels')).rejects.toMatchObject({ code: CoreErrorCode.RoundInProgress });
    const r3 = await complete();

    // Five concurrent deliveries of one vary click: one round, the rest duplicates of it.
    const image = r3.images[1]!;
    const racing = await Promise.all(
      Array.from({ length: 5 }, () => conversation.vary({ platform: 'discord', userId: 'bob', imageId: image.id, requestId: 'dup-3' })),
    );
    expect(new Set(racing.map((r) => r.round.id)).size).toBe(1);
    expect(racing.filter((r) => !r.duplicate)).toHaveLength(1);
    const rows: Array<{ n: string }> = await db.dataSource.query(
      `SELECT count(*) AS n FROM rounds WHERE dialogue_id = $1`,
      [r2.dialogueId],
    );
    expect(Number(rows[0]!.n)).toBe(4);
  });

  it('stores a button round when the queue is down, and its retried click enqueues it', async () => {
    const { r1, r2 } = await twoRounds();
    queue.failing = true;
    const down = conversation.reroll({ platform: 'discord', userId: 'bob', roundId: r2.id, requestId: 'q-1' });
    await expect(down).rejects.toMatchObject({ code: CoreErrorCode.QueueUnavailable });
    queue.failing = false;
    const retried = await conversation.reroll({ platform: 'discord', userId: 'bob', roundId: r2.id, requestId: 'q-1' });
    expect(retried).toMatchObject({ duplicate: true, round: { index: 3, status: 'queued' } });
    expect(queue.jobs.get(generationJobId(retried.round.id))).toMatchObject({ roundId: retried.round.id, initImageKey: r1.images[0]!.storageKey });
  });

  it('refuses banned raters, rounds of another platform and malformed ids', async () => {
    const { r2 } = await twoRounds();
    const mod = new ModerationService(db.dataSource);
    await conversation.reroll({ platform: 'discord', userId: 'mallory', roundId: r2.id, requestId: 'm-0' });
    await complete();
    await mod.banRater('mod', pseudonymousId('discord', 'mallory'), 'spam');
    await expect(conversation.reroll({ platform: 'discord', userId: 'mallory', roundId: r2.id, requestId: 'm-1' })).rejects.toMatchObject({
      code: CoreErrorCode.RaterBanned,
    });
    await expect(conversation.reroll({ platform: 'slack', userId: 'alice', roundId: r2.id, requestId: 'm-2' })).rejects.toMatchObject({
      code: CoreErrorCode.RoundNotFound,
    });
    await expect(conversation.vary({ platform: 'web', userId: 'alice', imageId: r2.images[0]!.id, requestId: 'm-3' })).rejects.toMatchObject({
      code: CoreErrorCode.ImageNotFound,
    });
    await expect(conversation.vary({ platform: 'discord', userId: 'alice', imageId: 'nope', requestId: 'm-4' })).rejects.toMatchObject({
      code: CoreErrorCode.ImageNotFound,
    });
    await expect(conversation.reroll({ platform: 'discord', userId: 'alice', roundId: r2.id, requestId: '' })).rejects.toMatchObject({
      code: CoreErrorCode.InvalidInput,
    });
  });

  it('exports button rounds with their origin and source round (a reroll links to its parent)', async () => {
    const { r2 } = await twoRounds();
    const rerolled = await conversation.reroll({ platform: 'discord', userId: 'alice', roundId: r2.id, requestId: 'exp-1' });
    const exported = (await new ModerationService(db.dataSource).exportDialogues('mod', { imageDir: '/img' })).find((d) => d.dialogue_id === r2.dialogueId)!;
    expect(exported.rounds.map((r) => [r.index, r.origin, r.source_round_id])).toEqual([
      [1, 'message', null],
      [2, 'message', null],
      [3, 'reroll', r2.id],
    ]);
    expect(exported.rounds[2]!.round_id).toBe(rerolled.round.id);
  });

  it('deletes a dialogue with its rerolls (the self-reference does not block the cascade)', async () => {
    const { r2 } = await twoRounds();
    await conversation.reroll({ platform: 'discord', userId: 'alice', roundId: r2.id, requestId: 'del-1' });
    await new ModerationService(db.dataSource).deleteDialogue('mod', r2.dialogueId);
    const rows: Array<{ n: string }> = await db.dataSource.query(`SELECT count(*) AS n FROM rounds WHERE dialogue_id = $1`, [r2.dialogueId]);
    expect(Number(rows[0]!.n)).toBe(0);
  });
});
