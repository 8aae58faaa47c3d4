import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConversationService,
  CoreError,
  CoreErrorCode,
  RuleBasedPromptRefiner,
  createTestDatabase,
  pseudonymousId,
  type IncomingMessage,
  type TestDatabase,
} from '@vca/core';
import { RecordingQueue, fakeResult } from './support/fakes';

describe('daily round quota', () => {
  let db: TestDatabase;
  let queue: RecordingQueue;
  let conversation: ConversationService;
  let thread = 0;

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_quota' });
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(() => {
    queue = new RecordingQueue();
    conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner(), { dailyRoundQuota: 2 });
  });

  const message = (userId: string, text = 'a small boat'): IncomingMessage => ({
    platform: 'slack',
    workspaceId: 'T1',
    channelId: 'C1',
    threadId: `C1:${++thread}`,
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
  /** Moves a rater's rounds back in time, as if they had been asked for `hoursAgo` hours ago. */
  const age = (userId: string, hoursAgo: number) =>
    db.dataSource.query(`UPDATE rounds SET created_at = now() - make_interval(hours => $2) WHERE requester_id = $1`, [
      pseudonymousId('slack', userId),
      hoursAgo,
    ]);

  it('refuses the round over the quota with when the next one frees; opens no dialogue and enqueues nothing', async () => {
    await conversation.handleMessage(message('ann'));
    const second = await conversation.handleMessage(message('ann'));
    expect(await conversation.quotaUsage({ platform: 'slack', userId: 'ann' })).toMatchObject({ used: 2, limit: 2, remaining: 0, exempt: false });

    const threadsBefore = (await db.dataSource.query('SELECT count(*)::int AS n FROM dialogues'))[0].n;
    const err = await refusal(conversation.handleMessage(message('ann')));
    expect(err.code).toBe(CoreErrorCode.QuotaExceeded);
    expect(err.message).toMatch(/^You have used your 2 rounds for the last 24 hours; your next round frees at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in (23 h 5\d min|24 h)\)\.$/);
    // The oldest of the two rounds leaves the 24 h window first.
    const usage = await conversation.quotaUsage({ platform: 'slack', userId: 'ann' });
    expect(err.details['resetsAt']).toBe(usage.resetsAt!.toISOString());
    expect((await db.dataSource.query('SELECT count(*)::int AS n FROM dialogues'))[0].n).toBe(threadsBefore);
    expect(queue.calls).toHaveLength(2);

    // Feedback in an open thread and buttons are held to the same quota; others are not affected.
    await conversation.recordGenerationResult(fakeResult(queue.jobs.get(second.jobId)!));
    expect((await refusal(conversation.handleMessage({ ...message('ann', 'make it red'), threadId: second.thread.threadId }))).code).toBe(CoreErrorCode.QuotaExceeded);
    expect((await refusal(conversation.reroll({ platform: 'slack', userId: 'ann', roundId: second.round.id, requestId: 'click-1' }))).code).toBe(
      CoreErrorCode.QuotaExceeded,
    );
    await expect(conversation.reroll({ platform: 'slack', userId: 'bea', roundId: second.round.id, requestId: 'click-2' })).resolves.toMatchObject({
      duplicate: false,
    });
    expect(queue.calls).toHaveLength(3);
  });

  it('screens a used-up quota before an adapter opens a thread, unless a moderator asks', async () => {
    const scope = { platform: 'slack' as const, workspaceId: 'T1' };
    await expect(conversation.screenMessage(scope, 'a red kite', {}, 'cyd')).resolves.toBeUndefined();
    await conversation.handleMessage(message('cyd'));
    await conversation.handleMessage(message('cyd'));
    expect((await refusal(conversation.screenMessage(scope, 'a red kite', {}, 'cyd'))).code).toBe(CoreErrorCode.QuotaExceeded);
    await expect(conversation.screenMessage(scope, 'a red kite', { moderator: true }, 'cyd')).resolves.toBeUndefined();
    await expect(conversation.screenMessage(scope, 'a red kite', { moderator: async () => true }, 'cyd')).resolves.toBeUndefined();
    // Without the user (block list only) nothing is counted.
    await expect(conversation.screenMessage(scope, 'a red kite')).resolves.toBeUndefined();
  });

  it('counts a rolling 24 h: rounds older than that free their slot; failed rounds do not count', async () => {
    await conversation.handleMessage(message('cal'));
    await conversation.handleMessage(message('cal'));
    await age('cal', 25);
    expect(await conversation.quotaUsage({ platform: 'slack', userId: 'cal' })).toMatchObject({ used: 0, remaining: 2, resetsAt: null });
    const a = await conversation.handleMessage(message('cal'));
    await conversation.markRoundFailed(a.round.id, 'worker crashed');
    await conversation.handleMessage(message('cal'));
    const usage = await conversation.quotaUsage({ platform: 'slack', userId: 'cal' });
    expect(usage).toMatchObject({ used: 1, limit: 2, remaining: 1 });
    // Under the limit, resetsAt is when the oldest counted round leaves the window (~24 h).
    expect(usage.resetsAt!.getTime() - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    await expect(conversation.handleMessage(message('cal'))).resolves.toMatchObject({ started: true });
  });

  it('exempts moderators: a boolean skips counting, a lazy check is asked only when over the quota', async () => {
    await conversation.handleMessage(message('dee'));
    await conversation.handleMessage(message('dee'));
    await expect(conversation.handleMessage(message('dee'), { moderator: true })).resolves.toMatchObject({ started: true });
    let asked = 0;
    const started = await conversation.handleMessage(message('dee'), { moderator: async () => (asked++, true) });
    expect(asked).toBe(1);
    expect(started.started).toBe(true);
    expect((await refusal(conversation.handleMessage(message('dee'), { moderator: async () => false }))).code).toBe(CoreErrorCode.QuotaExceeded);
    expect(await conversation.quotaUsage({ platform: 'slack', userId: 'dee' }, { moderator: true })).toMatchObject({ used: 4, remaining: 0, exempt: true });
  });

  it('leaves the message path uncounted when no quota is set', async () => {
    const unlimited = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner());
    for (let i = 0; i < 3; i++) await unlimited.handleMessage(message('eve'));
    expect(await unlimited.quotaUsage({ platform: 'slack', userId: 'eve' })).toMatchObject({ used: 3, limit: null, remaining: null });
  });

  it('serves the counting query from the (requester_id, created_at) index', async () => {
    const plan: Array<{ 'QUERY PLAN': string }> = await db.dataSource.query(
      `EXPLAIN SELECT created_at FROM rounds WHERE requester_id = 'x' AND status <> 'failed' AND created_at > now() - interval '24 hours'
        ORDER BY created_at DESC OFFSET 1 LIMIT 1`,
    );
    // Few rows: the planner may still scan; with SET enable_seqscan off it must be able to use the index.
    await db.dataSource.transaction(async (em) => {
      await em.query('SET LOCAL enable_seqscan = off');
      const forced: Array<{ 'QUERY PLAN': string }> = await em.query(
        `EXPLAIN SELECT created_at FROM rounds WHERE requester_id = 'x' AND status <> 'failed' AND created_at > now() - interval '24 hours'
          ORDER BY created_at DESC OFFSET 1 LIMIT 1`,
      );
      expect(forced.map((r) => r['QUERY PLAN']).join('\n')).toContain('IDX_rounds_requester_created');
    });
    expect(plan.length).toBeGreaterThan(0);
  });
});
