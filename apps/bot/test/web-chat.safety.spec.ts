import { GENERATION_QUEUE, RoundEntity, type AuditEntry, type BlockedTermsView, type GenerationQueuePort, type QuotaUsage } from '@vca/core';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RoundView, ThreadDetail } from '../src/chat/round-view';
import { ADMIN_TOKEN, startTestBot, type BotTestEnv } from './support/bot-test-env';

/**
 * The prompt block list and the daily quota through the web chat and moderation APIs, on real
 * PostgreSQL and Redis. No GPU worker: rounds stay queued, which is all these checks need.
 */
describe('web chat block list and quota', () => {
  let bot: BotTestEnv;
  let enqueue: ReturnType<typeof vi.spyOn>;
  const alice = `alice-${randomUUID()}`;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    bot = await startTestBot('safety', { PROMPT_BLOCKLIST: 'gore', DAILY_ROUND_QUOTA: '2' });
    enqueue = vi.spyOn(bot.app.get<GenerationQueuePort>(GENERATION_QUEUE), 'enqueue');
  });
  afterAll(async () => {
    await bot?.close();
  });

  async function call<T>(method: string, path: string, user: string | null, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(bot.baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', ...(user ? { 'x-vca-user': user } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
  const rounds = () => bot.db.dataSource.getRepository(RoundEntity).count();

  it('refuses a blocked prompt with 422 PROMPT_BLOCKED naming the term; nothing stored or enqueued', async () => {
    const res = await call<{ code: string; message: string }>('POST', '/api/threads', alice, { prompt: 'A scene of GORE.' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('PROMPT_BLOCKED');
    expect(res.body.message).toMatch(/^Your message contains a blocked term: "gore"/);
    expect(await rounds()).toBe(0);
    expect(enqueue).not.toHaveBeenCalled();
  });

  it('lets the moderation API block, list and unblock web-chat terms; a change applies to the next message at once', async () => {
    expect((await call('POST', '/api/moderation/blocked-terms', null, { term: 'sheep' })).status).toBe(401);
    const thread = await call<ThreadDetail>('POST', '/api/threads', alice, { prompt: 'a green hill' });
    expect(thread.status).toBe(201);

    const added = await call('POST', '/api/moderation/blocked-terms', null, { term: ' Sheep! ', reason: 'off topic' }, admin);
    expect(added).toEqual({ status: 201, body: { term: 'sheep', added: true } });
    // The web chat's terms were cached (empty) by the messages above: the change invalidated them.
    const refused = await call<{ code: string; message: string }>('POST', `/api/threads/${thread.body.id}/messages`, alice, { text: 'add a sheep' });
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('"sheep"');
    expect(await rounds()).toBe(1);

    // A request carrying the admin token is a moderator's: not blocked.
    const modThread = await call<ThreadDetail>('POST', '/api/threads', `mod-${randomUUID()}`, { prompt: 'a sheep on a green hill' }, admin);
    expect(modThread.status).toBe(201);

    const list = await call<BlockedTermsView>('GET', '/api/moderation/blocked-terms', null, undefined, admin);
    expect(list.body.global).toEqual(['gore']);
    expect(list.body.workspace.map((t) => [t.platform, t.workspaceId, t.term, t.createdBy])).toEqual([['web', 'local', 'sheep', 'web:admin']]);
    const removed = await call('DELETE', '/api/moderation/blocked-terms?term=SHEEP', null, undefined, admin);
    expect(removed).toEqual({ status: 200, body: { term: 'sheep', removed: true } });
    const bad = await call<{ message: string }>('POST', '/api/moderation/blocked-terms', null, { term: '?!' }, admin);
    expect(bad.status).toBe(400);

    const audit = await call<AuditEntry[]>('GET', '/api/moderation/audit', null, undefined, admin);
    expect(audit.body.filter((a) => a.targetType === 'prompt_term').map((a) => [a.action, a.moderatorId, a.targetId])).toEqual([
      ['unblock_term', 'web:admin', 'web:local'],
      ['block_term', 'web:admin', 'web:local'],
    ]);
  });

  it('holds a user to DAILY_ROUND_QUOTA (429 QUOTA_EXCEEDED) and reports the quota at GET /api/quota', async () => {
    expect((await call<QuotaUsage>('GET', '/api/quota', alice)).body).toMatchObject({ used: 1, limit: 2, remaining: 1, exempt: false });
    expect((await call<ThreadDetail>('POST', '/api/threads', alice, { prompt: 'a windmill' })).status).toBe(201);
    const before = await rounds();
    const over = await call<{ code: string; message: string }>('POST', '/api/threads', alice, { prompt: 'a lighthouse' });
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('QUOTA_EXCEEDED');
    expect(over.body.message).toMatch(/^You have used your 2 rounds for the last 24 hours; your next round frees at .* UTC/);
    expect(await rounds()).toBe(before);
    const usage = (await call<QuotaUsage>('GET', '/api/quota', alice)).body;
    expect(usage).toMatchObject({ used: 2, limit: 2, remaining: 0 });
    expect(new Date(usage.resetsAt!).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect((await call<QuotaUsage>('GET', '/api/quota', alice, undefined, admin)).body.exempt).toBe(true);
    expect((await call<RoundView>('POST', '/api/threads', alice, { prompt: 'a lighthouse' }, admin)).status).toBe(201);
    expect((await call('GET', '/api/quota', null)).status).toBe(400);
  });
});
