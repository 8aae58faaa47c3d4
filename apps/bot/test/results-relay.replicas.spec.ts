import { randomUUID } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotApp } from '../src/bot-app.factory';
import type { RoundUpdate } from '../src/chat/chat-adapter.interface';
import type { ThreadDetail } from '../src/chat/round-view';
import { WebEventsHub } from '../src/web/web-events.hub';
import { TEST_REDIS_URL, startTestBot, until, type BotTestEnv } from './support/bot-test-env';
import { startGpuWorkerDouble, type GpuWorkerDouble } from './support/gpu-worker.double';

/**
 * Two bot replicas on one database and one queue: both hear every "completed" event. The web
 * chat delivers per replica (a browser watches the replica it is connected to), so each replica
 * pushes every result to its own readers — including the replica that never saw the round being
 * enqueued — while the post claim is still taken once. (Platform adapters post only on the claim:
 * see the registry test and `markRoundPosted`'s.)
 */
describe('results relay with two bot replicas', () => {
  let bot: BotTestEnv;
  let replica: NestExpressApplication;
  let worker: GpuWorkerDouble;

  beforeAll(async () => {
    bot = await startTestBot('replicas', { CANDIDATES_PER_ROUND: '2' });
    replica = await createBotApp(bot.config);
    await replica.listen(0, '127.0.0.1');
    worker = startGpuWorkerDouble({
      redisUrl: TEST_REDIS_URL,
      prefix: bot.config.QUEUE_PREFIX,
      imageDir: bot.config.IMAGE_DIR,
      dataSource: bot.db.dataSource,
    });
  });

  afterAll(async () => {
    await worker?.close();
    await replica?.close();
    await bot?.close();
  });

  it('pushes each completed web round to the readers of both replicas, and claims its post once', async () => {
    const updates: Array<{ replica: string; update: RoundUpdate }> = [];
    bot.app.get(WebEventsHub).all().subscribe((update) => updates.push({ replica: 'first', update }));
    replica.get(WebEventsHub).all().subscribe((update) => updates.push({ replica: 'second', update }));
    const completed = (on: string) => updates.filter((u) => u.replica === on && u.update.kind === 'completed');

    const user = `replica-${randomUUID()}`;
    const threads: ThreadDetail[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(bot.baseUrl + '/api/threads', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-vca-user': user },
        body: JSON.stringify({ prompt: `a lamp on a desk number ${i}` }),
      });
      expect(res.status).toBe(201);
      threads.push((await res.json()) as ThreadDetail);
    }
    await until(async () => completed('first').length >= 4 && completed('second').length >= 4, 'four completed rounds on each replica', 30_000);
    // Give a late duplicate the chance to show.
    await new Promise((r) => setTimeout(r, 300));
    const roundIds = threads.map((t) => t.rounds[0]!.id).sort();
    for (const on of ['first', 'second']) {
      expect(completed(on).map((u) => u.update.roundId).sort()).toEqual(roundIds);
      for (const u of completed(on)) expect(u.update).toMatchObject({ kind: 'completed', round: { status: 'completed', images: [{}, {}] } });
    }
    const rows: Array<{ posted: boolean }> = await bot.db.dataSource.query(
      'SELECT posted_at IS NOT NULL AS posted FROM rounds WHERE id = ANY($1)',
      [roundIds],
    );
    expect(rows).toEqual(roundIds.map(() => ({ posted: true })));
  });
});
