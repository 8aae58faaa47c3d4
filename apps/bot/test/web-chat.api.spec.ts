import { pseudonymousId } from '@vca/core';
import { decode } from 'fast-png';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoundUpdate } from '../src/chat/chat-adapter.interface';
import type { RoundView, ThreadDetail, ThreadSummary } from '../src/chat/round-view';
import { startGpuWorkerDouble, type GpuWorkerDouble } from './support/gpu-worker.double';
import { ADMIN_TOKEN, TEST_REDIS_URL, startTestBot, until, type BotTestEnv } from './support/bot-test-env';
import { openSse } from './support/sse-client';

/**
 * HTTP-level tests of the web chat API against real PostgreSQL and Redis, with generation jobs
 * run by the GPU-worker test double (see support/gpu-worker.double.ts) over the real queue.
 */
describe('web chat API', () => {
  let bot: BotTestEnv;
  let worker: GpuWorkerDouble;
  const alice = `alice-${randomUUID()}`;
  const bob = `bob-${randomUUID()}`;

  beforeAll(async () => {
    bot = await startTestBot('api', { JOB_ATTEMPTS: '2' });
    worker = startGpuWorkerDouble({
      redisUrl: TEST_REDIS_URL,
      prefix: bot.config.QUEUE_PREFIX,
      imageDir: bot.config.IMAGE_DIR,
      dataSource: bot.db.dataSource,
      stepDelayMs: 50,
      failWith: (job) => (job.prompt.includes('explode') ? 'the GPU ran out of memory' : null),
    });
  });

  afterAll(async () => {
    await worker?.close();
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

  async function completedThread(id: string, rounds: number): Promise<ThreadDetail> {
    return until(async () => {
      const { body } = await call<ThreadDetail>('GET', `/api/threads/${id}`, alice);
      return body.rounds.length === rounds && body.rounds.every((r) => r.status === 'completed' || r.status === 'failed') ? body : null;
    }, `${rounds} finished rounds`);
  }

  it('serves the page, health and a validated config', async () => {
    const page = await fetch(bot.baseUrl + '/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Describe an image to start a dialogue');
    const health = await call<{ database: boolean; redis: boolean; adapters: string[] }>('GET', '/health', null);
    expect(health).toEqual({ status: 200, body: { database: true, redis: true, adapters: ['web'] } });
  });

  it('rejects invalid input with a message the chat can show', async () => {
    const empty = await call<{ message: string }>('POST', '/api/threads', alice, { prompt: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toContain('write a prompt first');
    const long = await call<{ message: string }>('POST', '/api/threads', alice, { prompt: 'x'.repeat(2001) });
    expect(long.status).toBe(400);
    const anonymous = await call<{ message: string }>('POST', '/api/threads', null, { prompt: 'a red fox' });
    expect(anonymous.status).toBe(400);
    expect(anonymous.body.message).toContain('x-vca-user');
    const missing = await call('GET', `/api/threads/${randomUUID()}`, alice);
    expect(missing.status).toBe(404);
  });

  it('runs a dialogue: live progress, candidates, ratings, img2img from the pick', async () => {
    const started = await call<ThreadDetail>('POST', '/api/threads', alice, { prompt: 'a red fox in a snowy forest' });
    expect(started.status).toBe(201);
    const thread = started.body;
    expect(thread.rounds).toHaveLength(1);
    expect(thread.rounds[0]).toMatchObject({ index: 1, userText: 'a red fox in a snowy forest', mode: 'txt2img' });
    expect(thread.rounds[0]!.refinedPrompt).toContain('fox');

    // The SSE stream may connect after round 1 finished: the thread read model is the source of truth.
    const sse = await openSse(`${bot.baseUrl}/api/threads/${thread.id}/events`);
    const round1 = (await completedThread(thread.id, 1)).rounds[0]!;
    expect(round1.status).toBe('completed');
    expect(round1.images).toHaveLength(4);
    const png = await fetch(bot.baseUrl + round1.images[0]!.url);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(decode(new Uint8Array(await png.arrayBuffer())).width).toBe(16);

    const list = await call<ThreadSummary[]>('GET', '/api/threads', bob);
    expect(list.body.find((t) => t.id === thread.id)).toMatchObject({ mine: false, roundCount: 1 });
    const own = await call<ThreadSummary[]>('GET', '/api/threads', alice);
    expect(own.body.find((t) => t.id === thread.id)).toMatchObject({ mine: true });

    // Ratings: up, a retried request (same event id) adds nothing, clicking again revokes.
    const [first, second] = round1.images;
    const eventId = randomUUID();
    const up = await call<RoundView>('POST', `/api/images/${first!.id}/feedback`, alice, { signal: 'up', eventId });
    expect(up.status).toBe(200);
    expect(up.body.images[0]).toMatchObject({ counts: { up: 1 }, mine: ['up'] });
    const again = await call<RoundView>('POST', `/api/images/${first!.id}/feedback`, alice, { signal: 'up', eventId });
    expect(again.body.images[0]!.counts.up).toBe(1);
    const bobUp = await call<RoundView>('POST', `/api/images/${first!.id}/feedback`, bob, { signal: 'up', eventId: randomUUID() });
    expect(bobUp.body.images[0]).toMatchObject({ counts: { up: 2 }, mine: ['up'] });
    const revoked = await call<RoundView>('DELETE', `/api/images/${first!.id}/feedback/up`, alice);
    expect(revoked.body.images[0]).toMatchObject({ counts: { up: 1 }, mine: [] });
    const rows = await bot.db.dataSource.query(
      `SELECT signal, revoked_at FROM feedback_events WHERE image_id = $1 ORDER BY created_at`,
      [first!.id],
    );
    expect(rows).toHaveLength(2); // revoked, never deleted
    expect(rows[0].revoked_at).not.toBeNull();

    // Ties: the candidates a rater marks as equally good (Pick-a-Pic 0.5/0.5 pairs).
    await call('POST', `/api/images/${round1.images[2]!.id}/feedback`, bob, { signal: 'tie', eventId: randomUUID() });
    const tie = await call<RoundView>('POST', `/api/images/${round1.images[3]!.id}/feedback`, bob, { signal: 'tie', eventId: randomUUID() });
    expect(tie.body.images.map((i) => i.counts.tie)).toEqual([0, 0, 1, 1]);
    expect(tie.body.images[3]!.mine).toEqual(['tie']);

    const pick = await call<RoundView>('POST', `/api/images/${second!.id}/feedback`, alice, { signal: 'pick', eventId: randomUUID() });
    expect(pick.body.images[1]).toMatchObject({ kept: true, mine: ['pick'] });
    // Other viewers of the thread get the new counts and kept image live, without anyone's `mine`.
    const rated = await sse.waitFor(
      (e) => (e.data as RoundUpdate).kind === 'rated' && (e.data as { round: RoundView }).round.images[1]!.kept,
      'rated update',
    );
    expect((rated.data as { round: RoundView }).round.images[1]).toMatchObject({ counts: { pick: 1 }, mine: [] });

    // Round 2: feedback → refined prompt → img2img from the picked candidate, with live updates.
    await worker.worker.pause(); // hold round 2 in the queue while a second message arrives
    const next = await call<RoundView>('POST', `/api/threads/${thread.id}/messages`, alice, { text: 'make the fox blue' });
    expect(next.status).toBe(201);
    expect(next.body).toMatchObject({ index: 2, mode: 'img2img', parentImageId: second!.id, userText: 'make the fox blue' });
    expect(next.body.refinedPrompt).toContain('blue');
    expect(next.body.edits.length).toBeGreaterThan(0);
    const busy = await call<{ code: string }>('POST', `/api/threads/${thread.id}/messages`, alice, { text: 'more snow' });
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe('ROUND_IN_PROGRESS');
    worker.worker.resume();
    const round2Id = next.body.id;
    const isUpdate = (kind: RoundUpdate['kind']) => (e: { data: unknown }) =>
      (e.data as RoundUpdate).roundId === round2Id && (e.data as RoundUpdate).kind === kind;
    await sse.waitFor(isUpdate('progress'), 'progress of round 2');
    const done = (await sse.waitFor(isUpdate('completed'), 'completion of round 2')).data as Extract<RoundUpdate, { kind: 'completed' }>;
    expect(done.round.images).toHaveLength(4);
    expect(done.round.images.every((i) => i.strength !== null && i.strength < 1)).toBe(true);
    const stored = worker.jobs.find((j) => j.roundId === round2Id)!;
    expect(stored.initImageKey).toBe(second!.storageKey);
    sse.close();
  });

  it('rerolls a round and varies a candidate; a retried click adds no round', async () => {
    const { body: thread } = await call<ThreadDetail>('POST', '/api/threads', alice, { prompt: 'a green kite over a beach' });
    const r1 = (await completedThread(thread.id, 1)).rounds[0]!;

    const invalid = await call<{ message: string }>('POST', `/api/rounds/${r1.id}/reroll`, bob, { requestId: 'x' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.message).toContain('requestId');

    const requestId = randomUUID();
    const rerolled = await call<RoundView>('POST', `/api/rounds/${r1.id}/reroll`, bob, { requestId });
    expect(rerolled.status).toBe(201);
    expect(rerolled.body).toMatchObject({ index: 2, origin: 'reroll', sourceRoundId: r1.id, userText: '(reroll)', refinedPrompt: r1.refinedPrompt, mode: 'txt2img' });
    const retried = await call<RoundView>('POST', `/api/rounds/${r1.id}/reroll`, bob, { requestId });
    expect(retried.body.id).toBe(rerolled.body.id);
    // Another click while it runs: the same conflict as a message.
    const busy = await call<{ code: string }>('POST', `/api/rounds/${r1.id}/reroll`, bob, { requestId: randomUUID() });
    expect(busy).toMatchObject({ status: 409, body: { code: 'ROUND_IN_PROGRESS' } });

    const r2 = (await completedThread(thread.id, 2)).rounds[1]!;
    expect(r2.images.map((i) => i.seed)).not.toEqual(r1.images.map((i) => i.seed));
    const chosen = r2.images[3]!;
    const varied = await call<RoundView>('POST', `/api/images/${chosen.id}/vary`, alice, { requestId: randomUUID() });
    expect(varied.status).toBe(201);
    expect(varied.body).toMatchObject({ index: 3, origin: 'vary', mode: 'img2img', parentImageId: chosen.id, userText: '(vary #4)' });
    const r3 = (await completedThread(thread.id, 3)).rounds[2]!;
    expect(r3.images.every((i) => i.strength !== null && i.strength <= 0.4)).toBe(true);

    const missing = await call('POST', `/api/images/${randomUUID()}/vary`, alice, { requestId: randomUUID() });
    expect(missing.status).toBe(404);
  });

  it('reports a job that failed for good in the thread', async () => {
    const started = await call<ThreadDetail>('POST', '/api/threads', alice, { prompt: 'explode the teapot' });
    const sse = await openSse(`${bot.baseUrl}/api/threads/${started.body.id}/events`);
    const thread = await completedThread(started.body.id, 1);
    expect(thread.rounds[0]).toMatchObject({ status: 'failed' });
    expect(thread.rounds[0]!.error).toContain('ran out of memory');
    expect(worker.jobs.filter((j) => j.roundId === thread.rounds[0]!.id)).toHaveLength(2); // retried once
    // Each attempt reports 4 steps of 50 ms before failing, so the stream was open for both.
    const retrying = await sse.waitFor((e) => (e.data as RoundUpdate).kind === 'retrying', 'retrying update');
    expect((retrying.data as { reason: string }).reason).toContain('ran out of memory');
    const failed = await sse.waitFor((e) => (e.data as RoundUpdate).kind === 'failed', 'failed update');
    expect((failed.data as { reason: string }).reason).toContain('ran out of memory');
    sse.close();

    // Only the owner deletes a thread from the chat.
    const notOwner = await call<{ code: string }>('DELETE', `/api/threads/${thread.id}`, bob);
    expect(notOwner).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const owner = await call<{ deletedRounds: number }>('DELETE', `/api/threads/${thread.id}`, alice);
    expect(owner).toMatchObject({ status: 200, body: { deletedRounds: 1 } });
    expect((await call('GET', `/api/threads/${thread.id}`, alice)).status).toBe(404);
  });

  it('shows each waiting round its queue position', async () => {
    await worker.worker.pause();
    const users = [1, 2, 3].map((n) => `queue-user-${n}-${randomUUID()}`);
    const threads: ThreadDetail[] = [];
    for (const [n, user] of users.entries()) {
      threads.push((await call<ThreadDetail>('POST', '/api/threads', user, { prompt: `a paper boat number ${n + 1}` })).body);
    }
    const third = threads[2]!;
    const opened = await Promise.all(threads.map((t, i) => call<ThreadDetail>('GET', `/api/threads/${t.id}`, users[i]!)));
    expect(opened.map((o) => o.body.rounds[0]!.status)).toEqual(['queued', 'queued', 'queued']);
    expect(opened.map((o) => o.body.rounds[0]!.queuePosition)).toEqual([1, 2, 3]);
    const sse = await openSse(`${bot.baseUrl}/api/threads/${third.id}/events`);
    worker.worker.resume();
    const roundId = third.rounds[0]!.id;
    const mine = (kind: RoundUpdate['kind']) => (e: { data: unknown }) =>
      (e.data as RoundUpdate).roundId === roundId && (e.data as RoundUpdate).kind === kind;
    await sse.waitFor(mine('started'), 'the third round starting');
    await sse.waitFor(mine('completed'), 'the third round completing');
    // Positions only go down while it waits (the poller pushes changes, not repeats).
    const positions = sse.events.filter(mine('queued')).map((e) => (e.data as { position: number }).position);
    expect([...positions].sort((a, b) => b - a)).toEqual(positions);
    expect(positions.every((p) => p >= 1 && p < 3)).toBe(true);
    sse.close();
    for (const t of threads) await completedThread(t.id, 1);
  });

  it('gates moderation with the admin token and calls the moderation service', async () => {
    expect((await call('GET', '/api/moderation/labels', null)).status).toBe(401);
    expect((await call('GET', '/api/moderation/labels', null, undefined, { authorization: 'Bearer wrong-token-wrong-token!!' })).status).toBe(401);
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const labels = await call<Array<{ eventId: string; raterId: string; signal: string; imageUrl: string; revokedAt: string | null }>>(
      'GET',
      '/api/moderation/labels?limit=50',
      null,
      undefined,
      auth,
    );
    expect(labels.status).toBe(200);
    expect(labels.body.length).toBeGreaterThanOrEqual(3);
    expect(labels.body[0]!.imageUrl).toMatch(/^\/images\/[0-9a-f]{64}\.png$/);

    const active = labels.body.find((l) => !l.revokedAt)!;
    const approved = await call<{ updated: number }>('POST', `/api/moderation/labels/${active.eventId}/approve`, null, {}, auth);
    expect(approved.body.updated).toBe(1);

    // Ban bob: his label leaves the export and his new ratings are refused.
    const bobRater = pseudonymousId('web', bob);
    expect(labels.body.some((l) => l.raterId === bobRater && !l.revokedAt)).toBe(true);
    expect((await call('POST', `/api/moderation/raters/${bobRater}/ban`, null, {}, auth)).status).toBe(400); // reason required
    expect((await call('POST', `/api/moderation/raters/${bobRater}/ban`, null, { reason: 'spam' }, auth)).status).toBe(200);
    const threads = await call<ThreadSummary[]>('GET', '/api/threads', alice);
    const fox = threads.body.find((t) => t.title.includes('fox'))!;
    const detail = await call<ThreadDetail>('GET', `/api/threads/${fox.id}`, alice);
    const bobImage = detail.body.rounds[0]!.images[0]!;
    const refused = await call<{ code: string; message: string }>('POST', `/api/images/${bobImage.id}/feedback`, bob, {
      signal: 'down',
      eventId: randomUUID(),
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('RATER_BANNED');

    const pairs = await fetch(`${bot.baseUrl}/api/moderation/export/pairs.jsonl`, { headers: auth });
    expect(pairs.status).toBe(200);
    expect(pairs.headers.get('content-disposition')).toContain('vca-pairs.jsonl');
    const dialogues = await call<Array<{ dialogue_id: string; rounds: Array<{ images: Array<{ labels: Array<{ rater_id: string }> }> }> }>>(
      'GET',
      '/api/moderation/export/dialogues.json',
      null,
      undefined,
      auth,
    );
    const raters = dialogues.body.flatMap((d) => d.rounds.flatMap((r) => r.images.flatMap((i) => i.labels.map((l) => l.rater_id))));
    expect(raters).not.toContain(bobRater);
    expect(raters.length).toBeGreaterThan(0);

    const unban = await call('POST', `/api/moderation/raters/${bobRater}/unban`, null, {}, auth);
    expect(unban.status).toBe(200);

    const deleted = await call<{ deletedImages: number }>('DELETE', `/api/moderation/images/${bobImage.id}`, null, undefined, auth);
    expect(deleted.body.deletedImages).toBe(1);
    const gone = await call<{ deletedRounds: number }>('DELETE', `/api/moderation/dialogues/${fox.id}`, null, undefined, auth);
    expect(gone.body.deletedRounds).toBe(2);
    expect((await call('GET', `/api/threads/${fox.id}`, alice)).status).toBe(404);

    const audit = await call<Array<{ action: string; moderatorId: string }>>('GET', '/api/moderation/audit', null, undefined, auth);
    expect(audit.body.map((a) => a.action)).toEqual(
      expect.arrayContaining(['approve_label', 'ban_rater', 'unban_rater', 'delete_image', 'delete_dialogue', 'export_pairs']),
    );
    // Moderator actions are audited as the web admin; the owner's own deletion as its owner.
    const actors = new Set(audit.body.map((a) => a.moderatorId));
    expect(actors).toEqual(new Set(['web:admin', `owner:${pseudonymousId('web', alice)}`]));
  });

  it('exports Prometheus metrics of its own overhead and round updates', async () => {
    const res = await fetch(`${bot.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const count = (span: string) => Number(new RegExp(`vca_bot_overhead_seconds_count\\{span="${span}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect(count('enqueue')).toBeGreaterThanOrEqual(6);
    expect(count('post')).toBeGreaterThanOrEqual(5);
    expect(text).toMatch(/vca_bot_round_updates_total\{platform="web",kind="completed"\} \d+/);
    expect(text).toContain('vca_bot_sse_watchers');
  });
});
