/**
 * `npm run bench:queue`: what the generation queue itself costs, with workers that do no work.
 * Phase 1 (overhead): one user, 100 rounds one after another, so nothing waits behind anything.
 * Phase 2 (burst): 50 users each send 20 rounds at once; no-op workers (16 concurrent).
 * Prints enqueue latency (producer call: validate and fair submit), round-trip latency
 * (enqueue → 'completed' event at the producer) and the rounds per second the queue sustains.
 * The last line is one JSON object. Needs Redis (REDIS_URL, default redis://127.0.0.1:6379).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import IORedis from 'ioredis';
import { QueueName, type GenerationResult } from '@vca/shared';
import { GenerateJob, GenerationQueueProducer, JobRegistry, createJobWorker } from '../src';

const USERS = Number(process.env.BENCH_USERS ?? 50);
const ROUNDS_PER_USER = Number(process.env.BENCH_ROUNDS ?? 20);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `vca-bench-${randomUUID().slice(0, 8)}`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function result(roundId: string): GenerationResult {
  const hash = '0'.repeat(64);
  return {
    roundId,
    modelVersion: 'bench',
    loraVersions: [],
    steps: 1,
    guidanceScale: 1,
    images: [{ candidateIndex: 0, seed: 0, strength: 1, storageKey: `${hash}.png`, contentHash: hash, width: 8, height: 8 }],
    elapsedMs: 0,
  };
}

async function main(): Promise<void> {
  const producer = new GenerationQueueProducer({ redisUrl, prefix, perUserConcurrency: 2, lookahead: 16, reconcileIntervalMs: 1000 });
  await producer.start();
  const registry = new JobRegistry().register(GenerateJob, async (job) => result(job.roundId));
  const worker = createJobWorker({ redisUrl, prefix, queue: QueueName.Generation, registry, concurrency: 16 });
  await worker.waitUntilReady();

  const job = (requesterId: string, roundId: string, seed: number) => ({
    roundId,
    dialogueId: randomUUID(),
    requesterId,
    prompt: 'a red circle',
    candidates: [{ seed, strength: 1 }],
    initImageKey: null,
    steps: 1,
    guidanceScale: 1,
  });

  // Phase 1: idle overhead.
  const idleEnqueue: number[] = [];
  const idleRoundTrip: number[] = [];
  for (let r = 0; r < 100; r++) {
    const roundId = randomUUID();
    const done = new Promise<void>((resolve) => {
      const listener = (id: string) => {
        if (id !== roundId) return;
        producer.off('completed', listener);
        resolve();
      };
      producer.on('completed', listener);
    });
    const t0 = performance.now();
    await producer.enqueue(job('solo', roundId, r));
    idleEnqueue.push(performance.now() - t0);
    await done;
    idleRoundTrip.push(performance.now() - t0);
  }
  idleEnqueue.sort((a, b) => a - b);
  idleRoundTrip.sort((a, b) => a - b);

  // Phase 2: burst.
  const total = USERS * ROUNDS_PER_USER;
  const enqueuedAt = new Map<string, number>();
  const roundTrip: number[] = [];
  let lastDone = 0;
  const allDone = new Promise<void>((resolve) => {
    producer.on('completed', (roundId) => {
      const t = performance.now();
      roundTrip.push(t - enqueuedAt.get(roundId)!);
      lastDone = t;
      if (roundTrip.length === total) resolve();
    });
  });

  const enqueueMs: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: USERS }, async (_, u) => {
      for (let r = 0; r < ROUNDS_PER_USER; r++) {
        const roundId = randomUUID();
        const t0 = performance.now();
        enqueuedAt.set(roundId, t0);
        await producer.enqueue(job(`user-${u}`, roundId, r));
        enqueueMs.push(performance.now() - t0);
      }
    }),
  );
  await allDone;
  const seconds = (lastDone - started) / 1000;

  await worker.close();
  await producer.close();
  const redis = new IORedis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();

  enqueueMs.sort((a, b) => a - b);
  roundTrip.sort((a, b) => a - b);
  const figures = {
    idle_enqueue_p50_ms: +percentile(idleEnqueue, 50).toFixed(2),
    idle_enqueue_p99_ms: +percentile(idleEnqueue, 99).toFixed(2),
    idle_round_trip_p50_ms: +percentile(idleRoundTrip, 50).toFixed(2),
    idle_round_trip_p99_ms: +percentile(idleRoundTrip, 99).toFixed(2),
    enqueue_p50_ms: +percentile(enqueueMs, 50).toFixed(2),
    enqueue_p99_ms: +percentile(enqueueMs, 99).toFixed(2),
    round_trip_p50_ms: +percentile(roundTrip, 50).toFixed(1),
    round_trip_p99_ms: +percentile(roundTrip, 99).toFixed(1),
    rounds_per_s: +(total / seconds).toFixed(1),
  };
  console.log(`idle: 100 sequential rounds, enqueue p50 ${figures.idle_enqueue_p50_ms} ms p99 ${figures.idle_enqueue_p99_ms} ms; round trip p50 ${figures.idle_round_trip_p50_ms} ms p99 ${figures.idle_round_trip_p99_ms} ms`);
  console.log(`burst: ${total} rounds from ${USERS} users (cap 2 each), no-op workers ×16, ${seconds.toFixed(2)} s`);
  console.log(`enqueue       p50 ${figures.enqueue_p50_ms} ms  p99 ${figures.enqueue_p99_ms} ms  (${USERS} concurrent producers)`);
  console.log(`round trip    p50 ${figures.round_trip_p50_ms} ms  p99 ${figures.round_trip_p99_ms} ms  (includes waiting behind other rounds)`);
  console.log(`throughput    ${figures.rounds_per_s} rounds/s`);
  console.log(JSON.stringify(figures));
}

void main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
