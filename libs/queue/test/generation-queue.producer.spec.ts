import type { Worker } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueName, type GenerationJob } from '@vca/shared';
import { GenerateJob, GenerationQueueProducer, JobRegistry, createJobWorker, roundJobId, QueueUnavailableError } from '@vca/queue';
import { generationJob, generationResult } from './generation-job.fixture';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix, until } from './redis-test.util';

describe(GenerationQueueProducer.name, () => {
  let prefix: string;
  let producer: GenerationQueueProducer;
  const workers: Worker[] = [];

  async function startProducer(opts: { perUserConcurrency?: number; lookahead?: number; attempts?: number } = {}) {
    producer = new GenerationQueueProducer({ redisUrl: TEST_REDIS_URL, prefix, backoffMs: 30, reconcileIntervalMs: 200, ...opts });
    await producer.start();
  }

  function startWorker(handler: (job: GenerationJob) => Promise<void>, concurrency = 1): Worker {
    const registry = new JobRegistry().register(GenerateJob, async (job) => {
      await handler(job);
      return generationResult(job.roundId);
    });
    const worker = createJobWorker({ redisUrl: TEST_REDIS_URL, prefix, queue: QueueName.Generation, registry, concurrency });
    workers.push(worker);
    return worker;
  }

  beforeEach(() => {
    prefix = uniquePrefix('producer');
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await producer?.close();
    await dropPrefix(prefix);
  });

  it('a duplicate enqueue of a round is a no-op, before and after it ran', async () => {
    await startProducer();
    const job = generationJob('alice');
    expect(await producer.enqueue(job)).toEqual({ jobId: `round-${job.roundId}`, duplicate: false });
    expect(await producer.enqueue(job)).toEqual({ jobId: `round-${job.roundId}`, duplicate: true });
    const ran: string[] = [];
    const done = new Promise<void>((resolve) => producer.on('completed', () => resolve()));
    startWorker(async (j) => void ran.push(j.roundId));
    await done;
    expect((await producer.enqueue(job)).duplicate).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(ran).toEqual([job.roundId]);
    expect(await producer.queue.getJobCounts('completed', 'waiting', 'active')).toEqual({ completed: 1, waiting: 0, active: 0 });
  });

  it('serves users round-robin instead of first come, first served', async () => {
    await startProducer({ perUserConcurrency: 1, lookahead: 1 });
    const jobs = [
      ...['a1', 'a2', 'a3', 'a4'].map((p) => generationJob('alice', { prompt: p })),
      ...['b1', 'b2'].map((p) => generationJob('bob', { prompt: p })),
      generationJob('carol', { prompt: 'c1' }),
    ];
    for (const job of jobs) await producer.enqueue(job);
    const order: string[] = [];
    startWorker(async (j) => void order.push(j.prompt));
    await until(() => order.length === jobs.length, 15_000, 'all rounds');
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('never runs more than the per-user cap of one user at once, even with idle workers', async () => {
    await startProducer({ perUserConcurrency: 1, lookahead: 2 });
    const running = new Map<string, number>();
    let maxPerUser = 0;
    let maxTotal = 0;
    startWorker(async (j) => {
      running.set(j.requesterId, (running.get(j.requesterId) ?? 0) + 1);
      maxPerUser = Math.max(maxPerUser, running.get(j.requesterId)!);
      maxTotal = Math.max(maxTotal, [...running.values()].reduce((a, b) => a + b, 0));
      await new Promise((r) => setTimeout(r, 80));
      running.set(j.requesterId, running.get(j.requesterId)! - 1);
    }, 4);
    const done: string[] = [];
    producer.on('completed', (id) => done.push(id));
    const jobs = [...Array(4)].flatMap(() => [generationJob('alice'), generationJob('bob')]);
    await Promise.all(jobs.map((j) => producer.enqueue(j)));
    await until(() => done.length === jobs.length, 20_000, 'all rounds');
    expect(maxPerUser).toBe(1);
    expect(maxTotal).toBe(2); // both users ran side by side
  });

  it('answers queue positions in the order the rounds will run', async () => {
    await startProducer({ perUserConcurrency: 1, lookahead: 1 });
    const a1 = generationJob('alice');
    const a2 = generationJob('alice');
    const a3 = generationJob('alice');
    const b1 = generationJob('bob');
    await producer.enqueue(a1);
    await producer.flush();
    for (const job of [a2, a3, b1]) await producer.enqueue(job);
    await producer.flush();
    expect(await producer.position(a1.roundId)).toEqual({ state: 'waiting', ahead: 0 });
    expect(await producer.position(a2.roundId)).toEqual({ state: 'pending', ahead: 1 });
    expect(await producer.position(b1.roundId)).toEqual({ state: 'pending', ahead: 2 });
    expect(await producer.position(a3.roundId)).toEqual({ state: 'pending', ahead: 3 });
    expect(await producer.position('00000000-0000-4000-8000-000000000000')).toEqual({ state: 'unknown', ahead: 0 });
  });

  it('relays progress, retries with backoff, then the result', async () => {
    await startProducer({ attempts: 3 });
    const events: string[] = [];
    producer.on('active', () => events.push('active'));
    producer.on('progress', (_id, p) => events.push(`progress ${p.step}/${p.totalSteps}`));
    producer.on('retrying', (_id, reason) => events.push(`retrying: ${reason}`));
    const completed = new Promise<string>((resolve) => producer.on('completed', (_id, r) => resolve(r.roundId)));
    let attempt = 0;
    const registry = new JobRegistry().register(GenerateJob, async (job, ctx) => {
      attempt = ctx.attempt;
      if (ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
      await ctx.reportProgress({ step: 1, totalSteps: 2 });
      return generationResult(job.roundId);
    });
    workers.push(createJobWorker({ redisUrl: TEST_REDIS_URL, prefix, queue: QueueName.Generation, registry }));
    const job = generationJob('alice');
    await producer.enqueue(job);
    expect(await completed).toBe(job.roundId);
    expect(attempt).toBe(3);
    await until(() => events.includes('progress 1/2'), 2_000, 'progress event');
    expect(events.filter((e) => e.startsWith('retrying'))).toEqual(['retrying: flaky 1', 'retrying: flaky 2']);
  });

  it('reports a round that fails for good once and frees the user for the next one', async () => {
    await startProducer({ attempts: 2, perUserConcurrency: 1 });
    const finalFailures: string[] = [];
    const registry = new JobRegistry().register(GenerateJob, async (job) => {
      if (job.prompt === 'broken') throw new Error('out of memory');
      return generationResult(job.roundId);
    });
    workers.push(
      createJobWorker({
        redisUrl: TEST_REDIS_URL,
        prefix,
        queue: QueueName.Generation,
        registry,
        onFinalFailure: (j) => void finalFailures.push(j.id!),
      }),
    );
    const failed: [string, string][] = [];
    const completed: string[] = [];
    producer.on('failed', (id, reason) => failed.push([id, reason]));
    producer.on('completed', (id) => completed.push(id));
    const broken = generationJob('alice', { prompt: 'broken' });
    const next = generationJob('alice');
    await producer.enqueue(broken);
    await producer.enqueue(next);
    await until(() => completed.length === 1, 10_000, 'next round');
    expect(failed).toEqual([[broken.roundId, 'out of memory']]);
    expect(finalFailures).toEqual([roundJobId(broken.roundId)]);
    expect(completed).toEqual([next.roundId]);
    expect(await producer.position(broken.roundId)).toEqual({ state: 'failed', ahead: 0 });
  });

  it('fails fast while Redis is unreachable, and answers health pings with false', async () => {
    const offline = new GenerationQueueProducer({ redisUrl: 'redis://127.0.0.1:1', prefix, enqueueTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(offline.enqueue(generationJob('alice'))).rejects.toBeInstanceOf(QueueUnavailableError);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await offline.ping(200)).toBe(false);
    } finally {
      await offline.close();
    }
    await startProducer();
    expect(await producer.ping()).toBe(true);
  });

  it('rejects an invalid payload at the producer', async () => {
    await startProducer();
    await expect(producer.enqueue({ ...generationJob('alice'), steps: 0 })).rejects.toThrow();
  });
});
