import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Worker } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueName } from '@vca/shared';
import { GenerateJob, GenerationQueueProducer, JobRegistry, JobRegistryError, TrainJob, createJobWorker, roundJobId } from '@vca/queue';
import { generationJob, generationResult } from './generation-job.fixture';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix, until } from './redis-test.util';

const ROOT = resolve(__dirname, '../../..');

describe(createJobWorker.name, () => {
  let prefix: string;
  let producer: GenerationQueueProducer;
  const workers: Worker[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('worker');
    producer = new GenerationQueueProducer({ redisUrl: TEST_REDIS_URL, prefix, backoffMs: 30, reconcileIntervalMs: 200 });
    await producer.start();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await producer.close();
    await dropPrefix(prefix);
  });

  it('refuses to start when a declared job of its queue has no handler', () => {
    const registry = new JobRegistry().register(TrainJob, async () => ({ trainingRunId: 'x', status: 'ok', data: {}, stages: {} }));
    expect(() => createJobWorker({ redisUrl: TEST_REDIS_URL, prefix, queue: QueueName.Generation, registry })).toThrow(
      /no handler for job\(s\): vca-generation\/generate/,
    );
  });

  it('refuses a second handler for the same job', () => {
    const registry = new JobRegistry().register(GenerateJob, async (j) => generationResult(j.roundId));
    expect(() => registry.register(GenerateJob, async (j) => generationResult(j.roundId))).toThrow(JobRegistryError);
  });

  it('fails a job with an invalid payload at once instead of retrying it', async () => {
    let calls = 0;
    const registry = new JobRegistry().register(GenerateJob, async (j) => {
      calls++;
      return generationResult(j.roundId);
    });
    workers.push(createJobWorker({ redisUrl: TEST_REDIS_URL, prefix, queue: QueueName.Generation, registry }));
    // Bypasses the producer's own validation, as an old or foreign producer would.
    const job = await producer.queue.add(GenerateJob.name, { roundId: 'not-a-uuid' }, { attempts: 3 });
    const failed = new Promise<void>((r) => workers[0]!.once('failed', () => r()));
    await failed;
    const stored = await producer.queue.getJob(job.id!);
    expect(await stored!.getState()).toBe('failed');
    expect(stored!.attemptsMade).toBe(1);
    expect(stored!.failedReason).toMatch(/invalid payload/);
    expect(calls).toBe(0);
  });

  it('retries the job of a worker killed mid-job on another worker; the round is not lost', async () => {
    const lockMs = 1000;
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', resolve(__dirname, 'hanging-worker.child.ts'), TEST_REDIS_URL, prefix, String(lockMs)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let started = false;
    child.stdout.on('data', (b: Buffer) => (started ||= b.toString().includes('started')));
    const completed: string[] = [];
    producer.on('completed', (id) => completed.push(id));
    const job = generationJob('alice');
    await producer.enqueue(job);
    await until(() => started, 20_000, 'the child worker to start the job');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const attempts: number[] = [];
    const registry = new JobRegistry().register(GenerateJob, async (j, ctx) => {
      attempts.push(ctx.attempt);
      return generationResult(j.roundId);
    });
    workers.push(
      createJobWorker({ redisUrl: TEST_REDIS_URL, prefix, queue: QueueName.Generation, registry, lockDurationMs: lockMs }),
    );
    await until(() => completed.length === 1, 15_000, 'the retried round');
    expect(completed).toEqual([job.roundId]);
    expect(attempts).toHaveLength(1);
    const stored = await producer.queue.getJob(roundJobId(job.roundId));
    expect(stored!.stalledCounter).toBe(1);
  });
});
