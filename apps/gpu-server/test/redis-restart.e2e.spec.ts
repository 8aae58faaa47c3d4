import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureModel } from '@vca/diffusion';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { loadDiffusionImageGenerator } from '../src/model/diffusion-image.generator';
import { createDialogueHarness, roundOutcome, type DialogueHarness } from './support/dialogue-harness.util';
import { PrivateRedis } from './support/private-redis.util';
import { TEST_DATABASE_URL, createTestEnv, type TestEnv } from './support/test-env.util';

/** Redis goes away mid-dialogue and comes back: no label and no round is lost. */
describe('Redis restarted mid-dialogue', () => {
  let t: TestEnv;
  let redis: PrivateRedis;
  let modelDir: string;
  let app: INestApplication;
  let h: DialogueHarness;

  const message = (text: string) => ({ platform: 'web' as const, workspaceId: 'w', channelId: 'c', threadId: 'restart', userId: 'carol', text });
  const labelCount = async () => (await h.dataSource.query('SELECT count(*)::int AS n FROM feedback_events WHERE revoked_at IS NULL'))[0].n as number;

  beforeAll(async () => {
    modelDir = await mkdtemp(join(tmpdir(), 'vca-gpu-model-'));
    writeFixtureModel(modelDir, { seed: 5 });
    redis = await PrivateRedis.start();
    t = await createTestEnv('redis');
    h = await createDialogueHarness({ databaseUrl: TEST_DATABASE_URL, schema: t.schema, redisUrl: redis.url, prefix: t.prefix });
    app = await createGpuServerApp({
      config: t.config({ MODEL_DIR: modelDir, REDIS_URL: redis.url, JOB_LOCK_MS: '2000' }),
      loadGenerator: loadDiffusionImageGenerator,
    });
    await app.init();
    await app.get(JobWorkersService).waitUntilReady();
  });
  afterAll(async () => {
    // Closing queues and workers needs Redis back if a failed assertion left it stopped.
    if (redis && !redis.running) await redis.startServer();
    await h?.close();
    await app?.close();
    await redis?.destroy();
    await t?.cleanup();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it('keeps every stored label and finishes the rounds queued around the restart', async () => {
    const r1 = await h.conversation.handleMessage(message('a green square'));
    expect(await roundOutcome(h, r1.round.id)).toBe('completed');
    const [a, b] = await h.dataSource.query('SELECT id FROM images WHERE round_id = $1 ORDER BY candidate_index', [r1.round.id]);
    const label = (userId: string, imageId: string, signal: 'up' | 'pick', eventId: string) =>
      h.feedback.recordFeedback({ platform: 'web', userId, imageId, signal, source: 'web', platformEventId: eventId });
    await label('carol', a.id, 'up', 'e1');
    await label('carol', b.id, 'pick', 'e2');
    expect(await labelCount()).toBe(2);

    // Round 2 is queued, then Redis stops while it is queued or running.
    const r2 = await h.conversation.handleMessage(message('make it bigger'));
    await redis.stopServer();
    // Labels live in PostgreSQL: rating goes on while Redis is down, and a repeat is still a no-op.
    await label('dave', a.id, 'up', 'e3');
    expect((await label('carol', b.id, 'pick', 'e2')).status).toBe('duplicate');
    expect(await labelCount()).toBe(3);
    await new Promise((r) => setTimeout(r, 500));
    await redis.startServer();

    expect(await roundOutcome(h, r2.round.id, 40_000)).toBe('completed');
    // A round started after the restart runs too.
    const r3 = await h.conversation.handleMessage(message('more green'));
    expect(await roundOutcome(h, r3.round.id, 40_000)).toBe('completed');
    const rounds = await h.dataSource.query(
      `SELECT r.index, r.status, count(i.id)::int AS images FROM rounds r LEFT JOIN images i ON i.round_id = r.id
        WHERE r.dialogue_id = $1 GROUP BY r.id ORDER BY r.index`,
      [r1.dialogueId],
    );
    expect(rounds).toEqual([
      { index: 1, status: 'completed', images: 2 },
      { index: 2, status: 'completed', images: 2 },
      { index: 3, status: 'completed', images: 2 },
    ]);
    expect(await labelCount()).toBe(3);
  });
});
