import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../../gpu-server/test/support/private-redis.util';
import type { RoundUpdate } from '../src/chat/chat-adapter.interface';
import type { RoundView, ThreadDetail } from '../src/chat/round-view';
import { startTestBot, until, type BotTestEnv } from './support/bot-test-env';
import { startGpuWorkerDouble, type GpuWorkerDouble } from './support/gpu-worker.double';
import { openSse } from './support/sse-client';

/**
 * Redis restarted mid-dialogue (a private redis-server, AOF as in production): the bot's queue
 * events come back, so the next round is still pushed to the open page, and no label is lost.
 */
describe('web chat across a Redis restart', () => {
  let redis: PrivateRedis;
  let bot: BotTestEnv;
  let worker: GpuWorkerDouble;
  const user = `restart-${randomUUID()}`;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    bot = await startTestBot('redis', { REDIS_URL: redis.url });
    worker = startGpuWorkerDouble({ redisUrl: redis.url, prefix: bot.config.QUEUE_PREFIX, imageDir: bot.config.IMAGE_DIR, dataSource: bot.db.dataSource });
  });

  afterAll(async () => {
    await worker?.close();
    await bot?.close();
    await redis?.destroy();
  });

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(bot.baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', 'x-vca-user': user },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  it('keeps pushing results to the page and keeps every label', async () => {
    const thread = (await call<ThreadDetail>('POST', '/api/threads', { prompt: 'a harbour at night' })).body;
    const round1 = await until(async () => {
      const r = (await call<ThreadDetail>('GET', `/api/threads/${thread.id}`)).body.rounds[0]!;
      return r.status === 'completed' ? r : null;
    }, 'round 1');
    const pick = await call<RoundView>('POST', `/api/images/${round1.images[2]!.id}/feedback`, { signal: 'pick', eventId: randomUUID() });
    expect(pick.body.images[2]!.kept).toBe(true);
    const sse = await openSse(`${bot.baseUrl}/api/threads/${thread.id}/events`);

    await redis.stopServer();
    expect((await fetch(`${bot.baseUrl}/health`)).status).toBe(503); // says Redis is down
    await redis.startServer();
    await until(async () => (await fetch(`${bot.baseUrl}/health`)).status === 200, 'the bot to see Redis again');

    const next = await until(async () => {
      const r = await call<RoundView>('POST', `/api/threads/${thread.id}/messages`, { text: 'add a lighthouse' });
      return r.status === 201 ? r.body : null;
    }, 'round 2 accepted');
    expect(next.parentImageId).toBe(round1.images[2]!.id);
    const done = await sse.waitFor(
      (e) => (e.data as RoundUpdate).kind === 'completed' && (e.data as RoundUpdate).roundId === next.id,
      'round 2 pushed over SSE after the restart',
      30_000,
    );
    expect((done.data as { round: RoundView }).round.images).toHaveLength(4);
    sse.close();

    const labels = await bot.db.dataSource.query(`SELECT signal, revoked_at FROM feedback_events WHERE image_id = $1`, [round1.images[2]!.id]);
    expect(labels).toEqual([{ signal: 'pick', revoked_at: null }]);
  });
});
