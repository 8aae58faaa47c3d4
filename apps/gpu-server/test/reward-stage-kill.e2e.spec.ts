import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { ModelVersionService, createDataSource, runMigrations } from '@vca/core';
import { TrainingQueue } from '@vca/queue';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { seedSimulatedLabels, writeTinyRewardVersion } from './support/simulated-labels.util';
import { TEST_DATABASE_URL, createTestEnv, until, type TestEnv } from './support/test-env.util';
import { startServerProcess, type ServerProcess } from './support/training-server.process';

/**
 * The real reward stage killed mid-way: a training-only server is SIGKILLed while it adapts the
 * image tower. The version in service stays in service; the job is retried on another worker,
 * which resumes the same run from the run's work folder (the head phase is not trained again,
 * the tower continues from its checkpoint) and records the stage.
 */
describe('reward stage survives a SIGKILL', () => {
  let t: TestEnv;
  let ds: DataSource;
  let versionsDir: string;
  let workDir: string;
  let child: ServerProcess | undefined;
  let survivor: INestApplication | undefined;
  let queue: TrainingQueue;

  const settings = () => ({
    WORKER_QUEUES: 'training',
    TRAINING_JOB_LOCK_MS: '2000',
    MODEL_DIR: 'models/default',
    ORT_INTRA_OP_THREADS: '1',
    VERSIONS_DIR: versionsDir,
    TRAINING_WORK_DIR: workDir,
    MIN_TRAINING_PAIRS: '30',
    MIN_COMMUNITY_PAIRS: '1000000',
    REWARD_MIN_HELDOUT_PAIRS: '10',
    REWARD_TOWER_STEPS: '80',
  });

  beforeAll(async () => {
    t = await createTestEnv('rkill');
    versionsDir = await mkdtemp(join(tmpdir(), 'vca-rkill-versions-'));
    workDir = await mkdtemp(join(tmpdir(), 'vca-rkill-work-'));
    ds = createDataSource(TEST_DATABASE_URL, { schema: t.schema, poolSize: 3 });
    await runMigrations(ds);
    await seedSimulatedLabels({ dataSource: ds, imageDir: t.imageDir, dialogues: 24 });
    queue = new TrainingQueue({ redisUrl: t.config().REDIS_URL, prefix: t.prefix });
  });
  afterAll(async () => {
    await child?.kill();
    await survivor?.close();
    await queue?.close();
    await ds?.destroy();
    await t?.cleanup();
    for (const d of [versionsDir, workDir]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('keeps the active version while killed, then resumes the run from its checkpoints', async () => {
    // A version in service before the run: the DPO reference, and what must stay active.
    await writeTinyRewardVersion(join(versionsDir, 'reward', 'before'));
    const versions = new ModelVersionService(ds);
    const before = await versions.register({ name: 'reward-before', kind: 'reward', path: 'reward/before' });
    await versions.activate(before.id);

    child = await startServerProcess('training-server.child.ts', { ...t.env({ ...settings(), LOG_LEVEL: 'info' }), TEST_TRAINING_STAGES: 'real' });

    const jobId = await queue.requestRun({ trigger: 'manual' });
    // Past the tower's first checkpoint (every 50 steps).
    const towerStep = async () => {
      const [run] = await t.sql<{ progress: { message?: string } }>('SELECT progress FROM training_runs');
      return Number(/tower step (\d+)/.exec(run?.progress?.message ?? '')?.[1] ?? 0);
    };
    await child.waitFor(async () => (await towerStep()) > 52, 180_000, 'the tower phase past its checkpoint');
    await child.kill();

    const [during] = await t.sql<{ id: string; status: string; stages: Record<string, unknown> }>('SELECT id, status, stages FROM training_runs');
    expect(during).toMatchObject({ status: 'running', stages: {} });
    expect((await versions.active('reward', null))?.id).toBe(before.id);
    const stageDir = join(workDir, during!.id, 'reward', 'global');
    expect(existsSync(join(stageDir, 'head-phase.safetensors'))).toBe(true);
    expect(existsSync(join(stageDir, 'tower', 'trainer.json'))).toBe(true);

    survivor = await createGpuServerApp({
      config: t.config(settings()),
      loadGenerator: async () => {
        throw new Error('no diffusion model needed');
      },
    });
    await survivor.init();
    await survivor.get(JobWorkersService).waitUntilReady();
    await until(async () => ['completed', 'failed'].includes((await (await queue.queue.getJob(jobId))?.getState()) ?? ''), 240_000, 'the resumed run');
    const job = (await queue.queue.getJob(jobId))!;
    expect(job.failedReason).toBeUndefined();
    const result = job.returnvalue as { trainingRunId: string; status: string; stages: { reward: { global: { decision: string; reason: string; metrics: Record<string, number>; producedVersionId: string } } } };
    expect(result).toMatchObject({ trainingRunId: during!.id, status: 'succeeded' });
    const stage = result.stages.reward.global;
    // The head phase came from the killed worker's work folder; DPO against the version in service.
    expect(stage.metrics['head_train_s']).toBe(0);
    expect(stage.reason).toMatch(/DPO against reward-before|not better|fewer than/);
    const [after] = await t.sql<{ status: string; attempts: number }>('SELECT status, attempts FROM training_runs WHERE id = $1', [during!.id]);
    expect(after).toEqual({ status: 'succeeded', attempts: 2 });
    // Whatever the decision, the active version is the old one or the run's new one: never a partial one.
    const active = await versions.active('reward', null);
    expect([before.id, stage.producedVersionId]).toContain(active?.id);
    expect(existsSync(join(versionsDir, (await versions.get(stage.producedVersionId))!.path, 'reward.json'))).toBe(true);
  });
});
