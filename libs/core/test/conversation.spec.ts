import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConversationService,
  CoreErrorCode,
  DialogueQueryService,
  FeedbackService,
  ModerationService,
  RuleBasedPromptRefiner,
  createTestDatabase,
  generationJobId,
  pseudonymousId,
  type IncomingMessage,
  type TestDatabase,
} from '@vca/core';
import { RecordingQueue, fakeResult } from './support/fakes';

describe(ConversationService.name, () => {
  let db: TestDatabase;
  let queue: RecordingQueue;
  let conversation: ConversationService;
  let feedback: FeedbackService;
  let queries: DialogueQueryService;
  let thread = 0;

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_conv' });
    feedback = new FeedbackService(db.dataSource);
    queries = new DialogueQueryService(db.dataSource);
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(() => {
    queue = new RecordingQueue();
    conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner());
    thread += 1;
  });

  const message = (text: string, userId = 'alice'): IncomingMessage => ({
    platform: 'web',
    workspaceId: 'local',
    channelId: 'general',
    threadId: `thread-${thread}`,
    userId,
    text,
  });

  it('runs a three-round dialogue: txt2img, then img2img from the kept image each round', async () => {
    // Round 1: the first message is the prompt.
    const r1 = await conversation.handleMessage(message('a blue car in a city'));
    expect(r1.started).toBe(true);
    expect(r1.round).toMatchObject({ index: 1, mode: 'txt2img', status: 'queued', refinedPrompt: 'a blue car in a city', parentImageId: null });
    expect(r1.jobId).toBe(generationJobId(r1.round.id));
    const job1 = queue.last();
    expect(job1).toMatchObject({ roundId: r1.round.id, dialogueId: r1.dialogueId, prompt: 'a blue car in a city', initImageKey: null });
    expect(job1.requesterId).toBe(pseudonymousId('web', 'alice'));
    expect(job1.candidates).toHaveLength(4);
    expect(new Set(job1.candidates.map((c) => c.seed)).size).toBe(4);

    await conversation.markRoundRunning(r1.round.id);
    const done1 = await conversation.recordGenerationResult(fakeResult(job1));
    expect(done1!.status).toBe('completed');
    expect(done1!.images.map((i) => i.candidateIndex)).toEqual([0, 1, 2, 3]);

    // Bob likes candidate 2, Alice picks candidate 1: the pick wins.
    const [, c1, c2] = done1!.images;
    await feedback.recordFeedback({ platform: 'web', userId: 'bob', imageId: c2!.id, signal: 'up', source: 'button', platformEventId: 'e1' });
    await feedback.recordFeedback({ platform: 'web', userId: 'alice', imageId: c1!.id, signal: 'pick', source: 'button', platformEventId: 'e2' });

    // Round 2: feedback, refined, img2img from the pick.
    const r2 = await conversation.handleMessage(message('make it red'));
    expect(r2.started).toBe(false);
    expect(r2.round).toMatchObject({ index: 2, mode: 'img2img', refinedPrompt: 'a red car in a city', parentImageId: c1!.id, userText: 'make it red' });
    expect(r2.round.edits).toEqual([{ kind: 'replace', from: 'blue', to: 'red' }]);
    const job2 = queue.last();
    expect(job2.initImageKey).toBe(c1!.storageKey);
    expect(job2.candidates.map((c) => c.strength)).toEqual([0.45, 0.55, 0.65, 0.75]);
    const done2 = await conversation.recordGenerationResult(fakeResult(job2));

    // No pick in round 2: the best-rated image (ups minus downs) is kept.
    const [d0, , , d3] = done2!.images;
    await feedback.recordFeedback({ platform: 'web', userId: 'bob', imageId: d3!.id, signal: 'up', source: 'reaction', platformEventId: 'e3' });
    await feedback.recordFeedback({ platform: 'web', userId: 'carol', imageId: d3!.id, signal: 'up', source: 'reaction', platformEventId: 'e4' });
    await feedback.recordFeedback({ platform: 'web', userId: 'carol', imageId: d0!.id, signal: 'down', source: 'reaction', platformEventId: 'e5' });

    const r3 = await conversation.handleMessage(message('add a dog on the roof'));
    expect(r3.round).toMatchObject({ index: 3, mode: 'img2img', refinedPrompt: 'a red car in a city, a dog on the roof', parentImageId: d3!.id });
    expect(queue.last().initImageKey).toBe(d3!.storageKey);
    await conversation.recordGenerationResult(fakeResult(queue.last()));

    const dialogue = await queries.findDialogueByThread('web', `thread-${thread}`);
    expect(dialogue!.rounds.map((r) => [r.index, r.mode, r.status, r.images.length])).toEqual([
      [1, 'txt2img', 'completed', 4],
      [2, 'img2img', 'completed', 4],
      [3, 'img2img', 'completed', 4],
    ]);
    expect(dialogue!.rounds[0]!.keptImageId).toBe(c1!.id);
    expect(dialogue!.rounds[1]!.images[3]!.feedback).toEqual({ up: 2, down: 0, pick: 0, tie: 0 });
  });

  it('keeps candidate 0 when nobody rated the previous round', async () => {
    const r1 = await conversation.handleMessage(message('a lighthouse'));
    const done = await conversation.recordGenerationResult(fakeResult(queue.last()));
    const r2 = await conversation.handleMessage(message('at sunset'));
    expect(r1.round.index).toBe(1);
    expect(r2.round.parentImageId).toBe(done!.images[0]!.id);
  });

  it('refuses a new message while the round is still generating, and after a failure starts from the last completed round', async () => {
    await conversation.handleMessage(message('a lighthouse'));
    await expect(conversation.handleMessage(message('more waves'))).rejects.toMatchObject({ code: CoreErrorCode.RoundInProgress });
    const first = await conversation.recordGenerationResult(fakeResult(queue.last()));
    const r2 = await conversation.handleMessage(message('more waves'));
    const failed = await conversation.markRoundFailed(r2.round.id, 'worker crashed 3 times');
    expect(failed).toMatchObject({ status: 'failed', failureReason: 'worker crashed 3 times' });
    const r3 = await conversation.handleMessage(message('at night'));
    expect(r3.round).toMatchObject({ index: 3, refinedPrompt: 'a lighthouse, many waves, at night', parentImageId: first!.images[0]!.id });
  });

  it('lets exactly one of two racing messages start the next round', async () => {
    const [a, b] = await Promise.allSettled([
      conversation.handleMessage(message('a paper boat', 'alice')),
      conversation.handleMessage(message('a paper plane', 'bob')),
    ]);
    const ok = [a, b].filter((r) => r.status === 'fulfilled');
    const refused = [a, b].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused[0]!.reason).toMatchObject({ code: CoreErrorCode.RoundInProgress });
    const dialogue = await queries.findDialogueByThread('web', `thread-${thread}`);
    expect(dialogue!.rounds).toHaveLength(1);
    await conversation.recordGenerationResult(fakeResult(queue.last()));

    const next = await Promise.allSettled([
      conversation.handleMessage(message('make it red', 'alice')),
      conversation.handleMessage(message('make it blue', 'bob')),
    ]);
    expect(next.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await queries.findDialogueByThread('web', `thread-${thread}`))!.rounds).toHaveLength(2);
  });

  it('refuses a banned rater: no round, and a new thread of theirs opens no dialogue', async () => {
    const r1 = await conversation.handleMessage(message('a kite over a beach', 'mallory'));
    await new ModerationService(db.dataSource).banRater('mod-1', pseudonymousId('web', 'mallory'), 'spam');
    await conversation.markRoundFailed(r1.round.id, 'test');
    const inThread = await conversation.handleMessage(message('make it red', 'mallory')).catch((e: unknown) => e);
    expect(inThread).toMatchObject({ code: CoreErrorCode.RaterBanned });
    const byId = await conversation
      .continueDialogue({ platform: 'web', dialogueId: r1.dialogueId, userId: 'mallory', text: 'make it red' })
      .catch((e: unknown) => e);
    expect(byId).toMatchObject({ code: CoreErrorCode.RaterBanned });
    thread += 1;
    const fresh = await conversation.handleMessage(message('a new kite', 'mallory')).catch((e: unknown) => e);
    expect(fresh).toMatchObject({ code: CoreErrorCode.RaterBanned, message: expect.stringMatching(/not allowed/) });
    const [row] = await db.dataSource.query('SELECT count(*)::int AS n FROM dialogues WHERE thread_id = $1', [`thread-${thread}`]);
    expect(row.n).toBe(0);
    expect(queue.jobs.size).toBe(1);
  });

  it('opens one dialogue when the first messages of a new thread and of a new rater race', async () => {
    const users = ['p1', 'p2', 'p3', 'p4'];
    const results = await Promise.allSettled(users.map((u) => conversation.handleMessage(message(`a lamp number ${u}`, `racer-${thread}-${u}`))));
    const started = results.filter((r) => r.status === 'fulfilled');
    expect(started).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: CoreErrorCode.RoundInProgress });
    const [row] = await db.dataSource.query('SELECT count(*)::int AS n FROM dialogues WHERE thread_id = $1', [`thread-${thread}`]);
    expect(row.n).toBe(1);
    const [raters] = await db.dataSource.query("SELECT count(*)::int AS n FROM raters WHERE id = ANY($1)", [users.map((u) => pseudonymousId('web', `racer-${thread}-${u}`))]);
    expect(raters.n).toBe(4);
  });

  it('continues a dialogue addressed by its id, only on its own platform', async () => {
    const r1 = await conversation.handleMessage(message('a red boat'));
    await conversation.recordGenerationResult(fakeResult(queue.last()));
    const r2 = await conversation.continueDialogue({ platform: 'web', dialogueId: r1.dialogueId, userId: 'alice', text: 'make it blue' });
    expect(r2).toMatchObject({ dialogueId: r1.dialogueId, started: false, thread: { threadId: `thread-${thread}` }, round: { index: 2, mode: 'img2img' } });
    expect(r2.round.refinedPrompt).toContain('blue');
    const elsewhere = await conversation
      .continueDialogue({ platform: 'slack', dialogueId: r1.dialogueId, userId: 'alice', text: 'more' })
      .catch((e: unknown) => e);
    expect(elsewhere).toMatchObject({ code: CoreErrorCode.DialogueNotFound });
    const missing = await conversation
      .continueDialogue({ platform: 'web', dialogueId: '00000000-0000-4000-8000-000000000000', userId: 'alice', text: 'more' })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: CoreErrorCode.DialogueNotFound });
    const invalid = await conversation.continueDialogue({ platform: 'web', dialogueId: 'nope', userId: 'alice', text: 'x' }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: CoreErrorCode.InvalidInput, message: expect.stringMatching(/dialogueId/) });
  });

  it('does not let a round whose result never came block its thread for ever', async () => {
    const patient = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner(), { staleRoundAfterMs: 1 });
    const r1 = await patient.handleMessage(message('a lantern'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const r2 = await patient.handleMessage(message('at night'));
    expect(r2.round).toMatchObject({ index: 2, mode: 'txt2img', refinedPrompt: 'a lantern, at night' });
    expect((await queries.getRound(r1.round.id)).status).toBe('failed');
  });

  it('stores a redelivered result once and ignores a late failure report', async () => {
    const r1 = await conversation.handleMessage(message('a red kite'));
    const result = fakeResult(queue.last());
    await conversation.recordGenerationResult(result);
    const again = await conversation.recordGenerationResult(result);
    expect(again!.images).toHaveLength(4);
    const afterFail = await conversation.markRoundFailed(r1.round.id, 'stale');
    expect(afterFail!.status).toBe('completed');
  });

  it('keeps the round when the queue is down and enqueues it on resume', async () => {
    queue.failing = true;
    const error = await conversation.handleMessage(message('a windmill')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: CoreErrorCode.QueueUnavailable });
    const stored = await queries.findDialogueByThread('web', `thread-${thread}`);
    expect(stored!.rounds).toHaveLength(1);
    expect(stored!.rounds[0]!.status).toBe('queued');

    queue.failing = false;
    const jobIds = await conversation.resumeQueuedRounds();
    expect(jobIds).toContain(generationJobId(stored!.rounds[0]!.id));
    expect(queue.jobs.get(generationJobId(stored!.rounds[0]!.id))!.prompt).toBe('a windmill');
  });

  it('finds the thread of a round in one call', async () => {
    const r1 = await conversation.handleMessage(message('a kettle'));
    expect(await queries.threadOfRound(r1.round.id)).toEqual({
      dialogueId: r1.dialogueId,
      platform: 'web',
      workspaceId: 'local',
      channelId: 'general',
      threadId: `thread-${thread}`,
      roundIndex: 1,
    });
    expect(await queries.threadOfRound('00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await queries.threadOfRound('not-a-uuid')).toBeNull();
  });

  it('lets only the owner delete a dialogue, audited', async () => {
    const r1 = await conversation.handleMessage(message('a sandcastle', 'alice'));
    await conversation.recordGenerationResult(fakeResult(queue.last()));
    await expect(conversation.deleteDialogueAsOwner({ platform: 'web', userId: 'bob' }, r1.dialogueId)).rejects.toMatchObject({
      code: CoreErrorCode.Forbidden,
    });
    const res = await conversation.deleteDialogueAsOwner({ platform: 'web', userId: 'alice' }, r1.dialogueId);
    expect(res).toMatchObject({ deletedRounds: 1, deletedImages: 4 });
    expect(res.orphanedStorageKeys).toHaveLength(4);
    expect(await queries.findDialogueByThread('web', `thread-${thread}`)).toBeNull();
    const audit = await new ModerationService(db.dataSource).listAuditLog({ limit: 1 });
    expect(audit[0]).toMatchObject({ action: 'delete_dialogue', moderatorId: `owner:${pseudonymousId('web', 'alice')}`, targetId: r1.dialogueId });
  });

  it('marks a round posted once', async () => {
    const r1 = await conversation.handleMessage(message('a teapot'));
    expect(await conversation.markRoundPosted(r1.round.id, 'msg-1')).toBe(true);
    expect(await conversation.markRoundPosted(r1.round.id, 'msg-2')).toBe(false);
    expect((await queries.getRound(r1.round.id)).postedMessageId).toBe('msg-1');
  });

  it('returns null for a result whose dialogue was deleted while it ran', async () => {
    const r1 = await conversation.handleMessage(message('a castle'));
    await new ModerationService(db.dataSource).deleteDialogue('mod', r1.dialogueId, 'spam');
    expect(await conversation.recordGenerationResult(fakeResult(queue.last()))).toBeNull();
  });

  it('refuses a result whose storage key is not a content address', async () => {
    await conversation.handleMessage(message('a compass'));
    const result = fakeResult(queue.last());
    result.images[0]!.storageKey = '../../etc/passwd';
    await expect(conversation.recordGenerationResult(result)).rejects.toMatchObject({
      code: CoreErrorCode.InvalidInput,
      message: expect.stringContaining('storageKey'),
    });
  });

  it('rejects invalid input with a message naming the field', async () => {
    await expect(conversation.handleMessage({ ...message('x'), text: '   ' })).rejects.toMatchObject({
      code: CoreErrorCode.InvalidInput,
      message: expect.stringContaining('text'),
    });
  });

  it('lists dialogues newest first with their last prompt', async () => {
    await conversation.handleMessage(message('a green tractor'));
    const list = await queries.listDialogues({ platform: 'web', limit: 1 });
    expect(list[0]).toMatchObject({ threadId: `thread-${thread}`, roundCount: 1, lastPrompt: 'a green tractor' });
  });
});
