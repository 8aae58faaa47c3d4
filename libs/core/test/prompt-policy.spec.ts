import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConversationService,
  CoreError,
  CoreErrorCode,
  ModerationService,
  PromptPolicy,
  RuleBasedPromptRefiner,
  createTestDatabase,
  findBlockedTerm,
  normaliseForMatching,
  normaliseTerm,
  parseTermList,
  type IncomingMessage,
  type TestDatabase,
} from '@vca/core';
import { RecordingQueue, fakeResult } from './support/fakes';

describe('prompt term matching', () => {
  it('normalises case, accents, punctuation and whitespace', () => {
    expect(normaliseForMatching('  Blood-SPLATTER!!\n on   the Café wall ')).toBe('blood splatter on the cafe wall');
    expect(normaliseTerm('  Gore. ')).toBe('gore');
    expect(normaliseTerm('!!!')).toBeNull();
    expect(normaliseTerm('x'.repeat(101))).toBeNull();
  });

  it('matches whole words and phrases only', () => {
    const terms = ['cat', 'blood splatter'];
    expect(findBlockedTerm('A CAT on a mat', terms)).toBe('cat');
    expect(findBlockedTerm('cat', terms)).toBe('cat');
    expect(findBlockedTerm('concatenate the cats', terms)).toBeNull();
    expect(findBlockedTerm('blood, splatter everywhere', terms)).toBe('blood splatter');
    expect(findBlockedTerm('bloodsplatter', terms)).toBeNull();
    expect(findBlockedTerm('no blood here, only splatter', terms)).toBeNull();
  });

  it('parses a comma-separated list, reporting entries with nothing to match', () => {
    expect(parseTermList(' Gore, blood  splatter,,gore, ?! ')).toEqual({ terms: ['gore', 'blood splatter'], invalid: ['?!'] });
  });
});

describe('prompt block list in the conversation core', () => {
  let db: TestDatabase;
  let queue: RecordingQueue;
  let policy: PromptPolicy;
  let conversation: ConversationService;
  let moderation: ModerationService;
  let thread = 0;

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_block' });
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(() => {
    queue = new RecordingQueue();
    policy = new PromptPolicy(db.dataSource, { globalTerms: ['Gore'] });
    conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner(), {}, policy);
    moderation = new ModerationService(db.dataSource, policy);
    thread += 1;
  });

  const message = (text: string, workspaceId = 'guild-a', userId = 'alice'): IncomingMessage => ({
    platform: 'discord',
    workspaceId,
    channelId: 'c',
    threadId: `block-${thread}-${workspaceId}`,
    userId,
    text,
  });
  const refusal = async (p: Promise<unknown>): Promise<CoreError> => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CoreError);
    return err as CoreError;
  };
  const counts = async () => {
    const [row] = await db.dataSource.query(
      `SELECT (SELECT count(*) FROM dialogues WHERE thread_id LIKE $1)::int AS dialogues,
              (SELECT count(*) FROM rounds r JOIN dialogues d ON d.id = r.dialogue_id WHERE d.thread_id LIKE $1)::int AS rounds`,
      [`block-${thread}-%`],
    );
    return row as { dialogues: number; rounds: number };
  };

  it('refuses a first prompt with a global term before anything is stored or enqueued, naming the term', async () => {
    const err = await refusal(conversation.handleMessage(message('a scene full of GORE!')));
    expect(err.code).toBe(CoreErrorCode.PromptBlocked);
    expect(err.message).toContain('"gore"');
    expect(err.details).toEqual({ term: 'gore' });
    // The same check alone, for adapters that must decide before echoing a prompt.
    await expect(conversation.screenMessage({ platform: 'discord', workspaceId: 'guild-a' }, 'gore')).rejects.toMatchObject({ code: CoreErrorCode.PromptBlocked });
    await expect(conversation.screenMessage({ platform: 'discord', workspaceId: 'guild-a' }, 'gore', { moderator: true })).resolves.toBeUndefined();
    expect(await counts()).toEqual({ dialogues: 0, rounds: 0 });
    expect(queue.calls).toEqual([]);
    // Whole words only: "gorelike" is not "gore".
    await expect(conversation.handleMessage(message('a gorelike texture'))).resolves.toMatchObject({ started: true });
  });

  it('blocks a workspace term in that workspace only; moderators add, list and remove it, each change audited', async () => {
    const added = await moderation.blockTerm('discord:mod-1', { platform: 'discord', workspaceId: 'guild-a' }, '  Red   Balloon! ', 'spam');
    expect(added).toEqual({ term: 'red balloon', added: true });
    expect(await moderation.blockTerm('discord:mod-1', { platform: 'discord', workspaceId: 'guild-a' }, 'red balloon')).toEqual({ term: 'red balloon', added: false });

    const err = await refusal(conversation.handleMessage(message('a red balloon over a town')));
    expect(err.code).toBe(CoreErrorCode.PromptBlocked);
    expect(err.message).toContain('"red balloon"');
    // Another workspace (and another platform's workspace of the same id) is not affected.
    await expect(conversation.handleMessage(message('a red balloon over a town', 'guild-b'))).resolves.toMatchObject({ started: true });
    await expect(
      conversation.handleMessage({ ...message('a red balloon over a town', 'guild-a'), platform: 'slack', threadId: `block-${thread}-slack` }),
    ).resolves.toMatchObject({ started: true });

    const list = await moderation.listBlockedTerms({ platform: 'discord', workspaceId: 'guild-a' });
    expect(list.global).toEqual(['gore']);
    expect(list.workspace.map((t) => [t.term, t.createdBy])).toEqual([['red balloon', 'discord:mod-1']]);

    expect(await moderation.unblockTerm('discord:mod-2', { platform: 'discord', workspaceId: 'guild-a' }, 'RED balloon')).toEqual({ term: 'red balloon', removed: true });
    expect(await moderation.unblockTerm('discord:mod-2', { platform: 'discord', workspaceId: 'guild-a' }, 'red balloon')).toEqual({ term: 'red balloon', removed: false });
    // Invalidated in this process: the next message goes through at once.
    await expect(conversation.handleMessage(message('a red balloon over a town'))).resolves.toMatchObject({ started: true });

    const audit = (await moderation.listAuditLog()).filter((a) => a.targetType === 'prompt_term');
    expect(audit.map((a) => [a.action, a.moderatorId, a.targetId, a.details['term']])).toEqual([
      ['unblock_term', 'discord:mod-2', 'discord:guild-a', 'red balloon'],
      ['block_term', 'discord:mod-1', 'discord:guild-a', 'red balloon'],
    ]);
    expect(audit[1]!.reason).toBe('spam');
    await expect(moderation.blockTerm('discord:mod-1', { platform: 'discord', workspaceId: 'guild-a' }, '...')).rejects.toMatchObject({
      code: CoreErrorCode.InvalidInput,
    });
  });

  it('refuses blocked feedback and a refined prompt that carries a term blocked since, storing no round', async () => {
    await conversation.handleMessage(message('a blue car in a city', 'guild-c'));
    await conversation.recordGenerationResult(fakeResult(queue.last()));
    expect(queue.calls).toHaveLength(1);

    const feedbackErr = await refusal(conversation.handleMessage(message('add some gore', 'guild-c')));
    expect(feedbackErr.message).toMatch(/^Your message contains a blocked term: "gore"/);

    // The prompt says "city"; blocking it makes every refinement of this prompt refused.
    await moderation.blockTerm('discord:mod', { platform: 'discord', workspaceId: 'guild-c' }, 'city');
    const promptErr = await refusal(conversation.handleMessage(message('make it red', 'guild-c')));
    expect(promptErr.code).toBe(CoreErrorCode.PromptBlocked);
    expect(promptErr.message).toMatch(/^The refined prompt contains a blocked term: "city"/);
    expect(await counts()).toEqual({ dialogues: 1, rounds: 1 });
    expect(queue.calls).toHaveLength(1);

    // Rerolling the round with the now-blocked prompt is refused too.
    const [round] = await db.dataSource.query(`SELECT r.id FROM rounds r JOIN dialogues d ON d.id = r.dialogue_id WHERE d.thread_id = $1`, [
      `block-${thread}-guild-c`,
    ]);
    const rerollErr = await refusal(conversation.reroll({ platform: 'discord', userId: 'bob', roundId: round.id, requestId: 'i-1' }));
    expect(rerollErr.code).toBe(CoreErrorCode.PromptBlocked);
    expect(queue.calls).toHaveLength(1);
  });

  it('lets a moderator\'s own message through; a lazy moderator check is asked only when a term matched', async () => {
    let asked = 0;
    const lazy = { moderator: async () => (asked++, true) };
    await expect(conversation.handleMessage(message('a quiet lake'), lazy)).resolves.toMatchObject({ started: true });
    expect(asked).toBe(0);
    await conversation.recordGenerationResult(fakeResult(queue.last()));
    await expect(conversation.handleMessage(message('more gore'), lazy)).resolves.toMatchObject({ started: false });
    expect(asked).toBe(1);
    await expect(conversation.handleMessage(message('gore gore', 'guild-z'), { moderator: true })).resolves.toMatchObject({ started: true });
    const notMod = await refusal(conversation.handleMessage(message('gore', 'guild-y'), { moderator: async () => false }));
    expect(notMod.code).toBe(CoreErrorCode.PromptBlocked);
  });

  it('checks a web dialogue continued by id against its workspace\'s terms', async () => {
    const web = { platform: 'web' as const, workspaceId: 'local', channelId: 'web', threadId: `block-${thread}-web`, userId: 'walt' };
    const started = await conversation.handleMessage({ ...web, text: 'a green hill' });
    await conversation.recordGenerationResult(fakeResult(queue.last()));
    await moderation.blockTerm('web:admin', { platform: 'web', workspaceId: 'local' }, 'sheep');
    const err = await refusal(conversation.continueDialogue({ platform: 'web', dialogueId: started.dialogueId, userId: 'walt', text: 'add a sheep' }));
    expect(err.code).toBe(CoreErrorCode.PromptBlocked);
    const globalErr = await refusal(conversation.continueDialogue({ platform: 'web', dialogueId: started.dialogueId, userId: 'walt', text: 'gore' }));
    expect(globalErr.code).toBe(CoreErrorCode.PromptBlocked);
    await expect(conversation.continueDialogue({ platform: 'web', dialogueId: started.dialogueId, userId: 'walt', text: 'add a cow' })).resolves.toMatchObject({
      round: { index: 2 },
    });
  });

  it('serves a workspace\'s terms from memory until the TTL passes (a change by another process shows up then)', async () => {
    const cached = new PromptPolicy(db.dataSource, { cacheTtlMs: 300 });
    const scope = { platform: 'slack' as const, workspaceId: `T-${thread}` };
    expect(await cached.blockedTermIn(scope, ['a dragon'])).toBeNull();
    // Another bot process adds the term (its own policy is invalidated, not this one).
    await new ModerationService(db.dataSource).blockTerm('slack:U1', scope, 'dragon');
    expect(await cached.blockedTermIn(scope, ['a dragon'])).toBeNull();
    await new Promise((r) => setTimeout(r, 350));
    expect(await cached.blockedTermIn(scope, ['a dragon'])).toBe('dragon');
    // Concurrent misses share one load; invalidate forces the next read.
    await new ModerationService(db.dataSource).unblockTerm('slack:U1', scope, 'dragon');
    cached.invalidate(scope);
    const [a, b] = await Promise.all([cached.workspaceTerms(scope), cached.workspaceTerms(scope)]);
    expect(a).toBe(b);
    expect(a).toEqual([]);
  });

  it('refuses a bad global term at construction', () => {
    expect(() => new PromptPolicy(db.dataSource, { globalTerms: ['--'] })).toThrow(/global term "--"/);
  });
});
