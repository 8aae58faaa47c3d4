import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureModel } from '@vca/diffusion';
import { roundJobId } from '@vca/queue';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { loadDiffusionImageGenerator } from '../src/model/diffusion-image.generator';
import { createDialogueHarness, roundOutcome, type DialogueHarness } from './support/dialogue-harness.util';
import { TEST_DATABASE_URL, createTestEnv, until, type TestEnv } from './support/test-env.util';

const ROOT = resolve(__dirname, '../../..');

/**
 * A GPU server started with `npm run start:gpu-server`'s command is SIGKILLed mid-job (as by the
 * OOM killer); another server picks the job up once its lock expires, and the round completes.
 */
describe('gpu-server worker killed mid-job', () => {
  let t: TestEnv;
  let modelDir: string;
  let h: DialogueHarness;
  let child: ChildProcess | undefined;
  let survivor: INestApplication | undefined;
  const childLog: string[] = [];

  beforeAll(async () => {
    modelDir = await mkdtemp(join(tmpdir(), 'vca-gpu-model-'));
    writeFixtureModel(modelDir, { seed: 3 });
    t = await createTestEnv('crash');
    // Enough steps that the job is still running when the test kills the worker.
    h = await createDialogueHarness({
      databaseUrl: TEST_DATABASE_URL,
      schema: t.schema,
      redisUrl: t.config().REDIS_URL,
      prefix: t.prefix,
      conversation: { steps: 150, candidates: 2 },
    });
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await survivor?.close();
    await h?.close();
    await t?.cleanup();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it('retries the job on another worker; the round is not lost', async () => {
    const env = t.env({ MODEL_DIR: modelDir, JOB_LOCK_MS: '2000', LOG_LEVEL: 'info' });
    child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/gpu-server/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => childLog.push(...b.toString().split('\n').filter(Boolean).slice(-20));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);

    const started = await h.conversation.handleMessage({
      platform: 'web',
      workspaceId: 'local',
      channelId: 'c1',
      threadId: 'crash-thread',
      userId: 'bob',
      text: 'a yellow triangle',
    });
    const roundId = started.round.id;
    await until(() => (h.progress.get(roundId)?.length ?? 0) >= 3, 60_000, 'progress from the child worker').catch((err) => {
      throw new Error(`${(err as Error).message}\n${childLog.slice(-20).join('\n')}`);
    });
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(await h.dataSource.query('SELECT status FROM rounds WHERE id = $1', [roundId])).toEqual([{ status: 'running' }]);
    expect(h.outcomes.has(roundId)).toBe(false);

    survivor = await createGpuServerApp({
      config: t.config({ MODEL_DIR: modelDir, JOB_LOCK_MS: '2000' }),
      loadGenerator: loadDiffusionImageGenerator,
    });
    await survivor.init();
    await survivor.get(JobWorkersService).waitUntilReady();

    expect(await roundOutcome(h, roundId, 60_000)).toBe('completed');
    const rows = await h.dataSource.query(
      `SELECT r.status, count(i.id)::int AS images FROM rounds r LEFT JOIN images i ON i.round_id = r.id
        WHERE r.id = $1 GROUP BY r.id`,
      [roundId],
    );
    expect(rows).toEqual([{ status: 'completed', images: 2 }]);
    const job = await h.producer.queue.getJob(roundJobId(roundId));
    expect(job!.stalledCounter).toBe(1);
    expect(job!.attemptsMade).toBe(1);
  });
});
