import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConversationService,
  DialogueQueryService,
  ModelVersionService,
  RuleBasedPromptRefiner,
  createTestDatabase,
  type IncomingMessage,
  type TestDatabase,
} from '@vca/core';
import { RecordingQueue, fakeResult } from './support/fakes';

/** Reward scores through the conversation core: the job's community, best-of-K, stored scores, kept image. */
describe('round scores', () => {
  let db: TestDatabase;
  let queue: RecordingQueue;
  let thread = 0;

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_scores' });
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(() => {
    queue = new RecordingQueue();
    thread += 1;
  });

  const message = (text: string, platform: IncomingMessage['platform'] = 'web', workspaceId = 'local'): IncomingMessage => ({
    platform,
    workspaceId,
    channelId: 'general',
    threadId: `scores-${thread}`,
    userId: 'alice',
    text,
  });

  it("carries the dialogue's community in every job, also when re-built after a restart", async () => {
    const conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner());
    const r = await conversation.handleMessage(message('a blue car', 'discord', 'guild-7'));
    expect(queue.last()).toMatchObject({ communityId: 'discord:guild-7' });
    expect(queue.last().keep).toBeUndefined();
    expect(await conversation.buildJob(r.round.id)).toMatchObject({ communityId: 'discord:guild-7' });
    await conversation.recordGenerationResult(fakeResult(queue.last()));
    await conversation.reroll({ platform: 'discord', userId: 'bob', roundId: r.round.id, requestId: 'click-1' });
    expect(queue.last()).toMatchObject({ communityId: 'discord:guild-7' });
  });

  it('asks for K candidates and keep N with OVERSAMPLE, the first N being the round plan', async () => {
    const conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner(), { candidates: 2, oversample: 5 });
    const r = await conversation.handleMessage(message('a red square'));
    const job = queue.last();
    expect(job.candidates).toHaveLength(5);
    expect(job.keep).toBe(2);
    const [stored] = await db.dataSource.query('SELECT candidates FROM rounds WHERE id = $1', [r.round.id]);
    expect(job.candidates.slice(0, 2)).toEqual(stored.candidates);
    expect(stored.candidates).toHaveLength(2);
    expect(new Set(job.candidates.map((c) => c.seed)).size).toBe(5);
    // Deterministic: the same job again from the stored round.
    expect((await conversation.buildJob(r.round.id)).candidates).toEqual(job.candidates);
  });

  it('stores scores on the image rows, shows them in the round view, and keeps the best-scored image when nobody voted', async () => {
    const conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner(), { candidates: 3 });
    const r1 = await conversation.handleMessage(message('a green circle'));
    const result = fakeResult(queue.last());
    const rewards = [0.2, 0.9, 0.5];
    result.images.forEach((img, i) => (img.scores = { reward: rewards[i]!, cosine: rewards[i]! / 2 }));
    result.rewardVersionId = null;
    const view = await conversation.recordGenerationResult(result);
    expect(view!.images.map((i) => i.scores)).toEqual([
      { reward: 0.2, cosine: 0.1 },
      { reward: 0.9, cosine: 0.45 },
      { reward: 0.5, cosine: 0.25 },
    ]);
    expect(view!.rewardVersion).toBeNull();
    const viaQuery = await new DialogueQueryService(db.dataSource).getRound(r1.round.id);
    expect(viaQuery.images[1]!.scores).toEqual({ reward: 0.9, cosine: 0.45 });

    await conversation.handleMessage(message('make it red'));
    expect(queue.last().initImageKey).toBe(view!.images[1]!.storageKey);
  });

  it('stores the reward and base-model versions on scored image rows, and names the reward version in the round view', async () => {
    const versions = new ModelVersionService(db.dataSource);
    const reward = await versions.register({ name: 'reward-2026-12-07', kind: 'reward', path: 'reward/a' });
    const base = await versions.register({ name: 'base-default', kind: 'base', path: 'models/default' });
    const conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner(), { candidates: 2 });
    const r = await conversation.handleMessage(message('a blue heart'));
    const result = fakeResult(queue.last());
    result.images.forEach((img, i) => (img.scores = { reward: 1 - i, cosine: 0.3 }));
    Object.assign(result, { rewardVersionId: reward.id, modelVersionId: base.id });
    const view = await conversation.recordGenerationResult(result);
    expect(view!.rewardVersion).toEqual({ id: reward.id, name: 'reward-2026-12-07' });
    expect(view!.images.map((i) => i.rewardVersionId)).toEqual([reward.id, reward.id]);
    const rows = await db.dataSource.query('SELECT reward_version_id, model_version_id, scores FROM images WHERE round_id = $1 ORDER BY candidate_index', [r.round.id]);
    expect(rows).toEqual([
      { reward_version_id: reward.id, model_version_id: base.id, scores: { reward: 1, cosine: 0.3 } },
      { reward_version_id: reward.id, model_version_id: base.id, scores: { reward: 0, cosine: 0.3 } },
    ]);
    const dialogue = await new DialogueQueryService(db.dataSource).getDialogue(r.dialogueId);
    expect(dialogue.rounds[0]!.rewardVersion?.name).toBe('reward-2026-12-07');
  });

  it('leaves an unscored round without scores', async () => {
    const conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner(), { candidates: 2 });
    await conversation.handleMessage(message('a star'));
    const view = await conversation.recordGenerationResult(fakeResult(queue.last()));
    expect(view!.images.map((i) => i.scores)).toEqual([{}, {}]);
    expect(view!.images.every((i) => i.rewardVersionId === null)).toBe(true);
  });
});
