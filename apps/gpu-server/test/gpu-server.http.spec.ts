import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { JobName, QueueName } from '@vca/shared';
import { TrainingQueue } from '@vca/queue';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { createTestEnv, until, type TestEnv } from './support/test-env.util';

/** The server with a model directory that does not load: HTTP, migrations, training worker. */
describe('gpu-server without a loadable model', () => {
  let t: TestEnv;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    t = await createTestEnv('http');
    app = await createGpuServerApp({
      config: t.config({ MODEL_DIR: '/nonexistent/model' }),
      loadGenerator: async ({ dir }) => {
        throw new Error(`no model_index.json in ${dir}`);
      },
    });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    await app.get(JobWorkersService).waitUntilReady();
  });
  afterAll(async () => {
    await app?.close();
    await t?.cleanup();
  });

  it('applied the migrations at start', async () => {
    const tables = await t.sql<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [t.schema],
    );
    expect(tables.map((r) => r.table_name)).toEqual(expect.arrayContaining(['dialogues', 'rounds', 'images', 'training_runs']));
  });

  it('/health is 503 and says the model is not loaded, and why', async () => {
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { modelError: string };
    expect(body).toMatchObject({ status: 'degraded', checks: { database: true, redis: true, model: false } });
    expect(body.modelError).toMatch(/no model_index.json/);
    expect(await (await fetch(`${url}/v1/models`)).json()).toEqual({ models: [] });
  });

  it('takes no generation jobs it could only fail', async () => {
    const queue = new Queue(QueueName.Generation, { connection: { host: '127.0.0.1', port: 6379 }, prefix: t.prefix });
    try {
      const job = await queue.add(JobName.Generate, { roundId: 'x' }, { jobId: 'round-no-model' });
      await new Promise((r) => setTimeout(r, 500));
      expect(await job.getState()).toBe('waiting');
      await job.remove();
    } finally {
      await queue.close();
    }
  });

  it('serves the OpenAPI description at /docs', async () => {
    const doc = (await (await fetch(`${url}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/health', '/v1/models', '/v1/jobs/{id}', '/v1/images/{key}']),
    );
    expect((await fetch(`${url}/docs`)).status).toBe(200);
  });

  it('/v1/images refuses keys that are not content addresses and 404s unknown ones', async () => {
    expect((await fetch(`${url}/v1/images/..%2F..%2Fetc%2Fpasswd`)).status).toBe(400);
    expect((await fetch(`${url}/v1/images/${'0'.repeat(64)}.png`)).status).toBe(404);
    expect((await fetch(`${url}/v1/jobs/round-nope`)).status).toBe(404);
  });

  it('a training job records a training run and reports the data it would use', async () => {
    const training = new TrainingQueue({ redisUrl: t.config().REDIS_URL, prefix: t.prefix });
    try {
      const jobId = await training.requestRun({ trigger: 'manual' });
      let job: { state: string; result: { trainingRunId: string; status: string; data: Record<string, number> } } | undefined;
      await until(async () => {
        job = (await (await fetch(`${url}/v1/jobs/${jobId}`)).json()) as typeof job;
        return job?.state === 'completed';
      }, 15_000, 'the training job');
      const runs = await t.sql<{ id: string; trigger: string }>('SELECT id, trigger FROM training_runs');
      const seen = JSON.stringify({ jobId, job, runs });
      expect(job!.result.data, seen).toMatchObject({ pairs: 0, labels: 0 });
      // No training stage is configured (and there is no data): the run is recorded as skipped.
      expect(job!.result, seen).toMatchObject({ status: 'skipped', stages: {} });
      expect(runs, seen).toEqual([{ id: job!.result.trainingRunId, trigger: 'manual' }]);
      expect(await training.nextNightlyRun(), seen).not.toBeNull();
    } finally {
      await training.close();
    }
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/^vca_model_loaded 0$/m);
    expect(text).toMatch(/vca_jobs_total\{queue="vca-training",outcome="completed"\} 1/);
    expect(text).toMatch(/^vca_queue_jobs\{queue="vca-generation",state="waiting"\} 0$/m);
  });
});
