import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { TrainingRunService, createDataSource, runMigrations } from '@vca/core';
import { TrainingQueue } from '@vca/queue';
import { GpuServerEnvSchema, parseEnv } from '@vca/shared';
import { TrainingSeeder } from '../../../libs/core/test/support/training-seed';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { TrainingProcessor } from '../src/jobs/training.processor';
import { BaseModelVersion } from '../src/training/base-model.registrar';
import { QuickStage } from './support/test-stages.util';
import { TEST_DATABASE_URL, createTestEnv, until, type TestEnv } from './support/test-env.util';
import { startServerProcess, type ServerProcess } from './support/training-server.process';

/**
 * A training-only GPU server process (WORKER_QUEUES=training) is SIGKILLed in the middle of a
 * run's second stage; BullMQ finds the job stalled, another server retries it, and the retry
 * resumes the same run: the stage recorded by the killed worker is not run again.
 */
describe('training job survives a killed worker', () => {
  let t: TestEnv;
  let ds: DataSource;
  let workDir: string;
  let child: ServerProcess | undefined;
  let survivor: INestApplication | undefined;
  let queue: TrainingQueue;

  beforeAll(async () => {
    t = await createTestEnv('train');
    workDir = await mkdtemp(join(tmpdir(), 'vca-gpu-train-'));
    ds = createDataSource(TEST_DATABASE_URL, { schema: t.schema, poolSize: 3 });
    await runMigrations(ds);
    const seed = new TrainingSeeder(ds);
    await seed.pickedRounds('discord', 'guild-e2e', 3);
    queue = new TrainingQueue({ redisUrl: t.config().REDIS_URL, prefix: t.prefix });
  });
  afterAll(async () => {
    await child?.kill();
    await survivor?.close();
    await queue?.close();
    await ds?.destroy();
    await t?.cleanup();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const settings = () => ({
    WORKER_QUEUES: 'training',
    TRAINING_JOB_LOCK_MS: '2000',
    MIN_TRAINING_PAIRS: '3',
    TRAINING_WORK_DIR: workDir,
    MODEL_DIR: '/nonexistent/model',
  });

  it('resumes the same run on another worker and reports its stages', async () => {
    child = await startServerProcess('training-server.child.ts', t.env({ ...settings(), LOG_LEVEL: 'info' }));

    const jobId = await queue.requestRun({ trigger: 'manual' });
    await child.waitFor(() => child!.output().includes('stage second started'), 30_000, 'the hanging stage');
    const [during] = await t.sql<{ id: string; status: string; attempts: number; stages: Record<string, unknown>; job_id: string }>(
      'SELECT id, status, attempts, stages, job_id FROM training_runs',
    );
    expect(during).toMatchObject({ status: 'running', attempts: 1, job_id: jobId });
    expect(Object.keys(during!.stages)).toEqual(['first']);
    // Progress reaches the BullMQ job.
    const progress = (await queue.queue.getJob(jobId))!.progress as { trainingRunId: string; stage: string };
    expect(progress).toMatchObject({ trainingRunId: during!.id, stage: 'second' });

    await child.kill();

    const first = new QuickStage('first', 'promoted', 'trained again (must not happen)');
    const second = new QuickStage('second', 'kept', 'not better than the active version');
    survivor = await createGpuServerApp({
      config: t.config(settings()),
      loadGenerator: async () => {
        throw new Error('no diffusion model in this test');
      },
      trainingStages: [first, second],
    });
    await survivor.init();
    await survivor.get(JobWorkersService).waitUntilReady();
    expect(survivor.get(JobWorkersService).consumedQueues).toEqual(['vca-training']);

    await until(async () => (await (await queue.queue.getJob(jobId))?.getState()) === 'completed', 30_000, 'the resumed training job');
    const job = (await queue.queue.getJob(jobId))!;
    expect(job.stalledCounter).toBe(1);
    expect(job.returnvalue).toMatchObject({
      trainingRunId: during!.id,
      status: 'succeeded',
      data: { pairs: 9, ties: 0, labels: 3 },
      stages: {
        first: { global: { decision: 'promoted', reason: 'trained in the killed worker' } },
        second: { global: { decision: 'kept', reason: 'not better than the active version' } },
      },
    });
    expect(job.returnvalue.report).toContain('second/global: kept');
    expect(first.calls).toEqual([]);
    expect(second.calls).toEqual([{ communityId: null, previous: ['first'] }]);
    const [after] = await t.sql<{ status: string; attempts: number }>('SELECT status, attempts FROM training_runs WHERE id = $1', [during!.id]);
    expect(after).toEqual({ status: 'succeeded', attempts: 2 });
    // No model loaded here: no base version to link images to.
    expect(survivor.get(BaseModelVersion).id).toBeNull();
  });

  it('a job that fails for good fails its run with the reason', async () => {
    const runs = new TrainingRunService(ds);
    const run = await runs.schedule({ trigger: 'manual', scheduledFor: new Date('2030-01-01T00:00:00Z'), jobId: 'job-gone' });
    await runs.start(run.id);
    await survivor!.get(TrainingProcessor).onFinalFailure({ trigger: 'manual' }, new Error('job stalled more than allowable limit'), 'job-gone');
    expect(await runs.getRun(run.id)).toMatchObject({ status: 'failed', error: 'job stalled more than allowable limit' });
  });

  it('validates WORKER_QUEUES and the training settings', () => {
    const parse = (env: Record<string, string>) => parseEnv('gpu-server', GpuServerEnvSchema, env);
    expect(parse({}).WORKER_QUEUES).toEqual(['generation', 'training']);
    expect(parse({ WORKER_QUEUES: ' training ,training' }).WORKER_QUEUES).toEqual(['training']);
    expect(() => parse({ WORKER_QUEUES: 'training,render' })).toThrow(/WORKER_QUEUES/);
    expect(() => parse({ WORKER_QUEUES: ' , ' })).toThrow(/WORKER_QUEUES/);
    expect(parse({})).toMatchObject({
      TRAINING_WORK_DIR: 'data/training',
      VERSIONS_DIR: 'data/model-versions',
      MIN_TRAINING_PAIRS: 200,
      MIN_COMMUNITY_PAIRS: 2000,
      PROMOTION_MARGIN: 0.01,
      TRAINING_JOB_LOCK_MS: 120_000,
    });
    expect(() => parse({ PROMOTION_MARGIN: '-1' })).toThrow(/PROMOTION_MARGIN/);
  });
});
