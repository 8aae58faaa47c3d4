/**
 * `npm run bench:chat` — the bot's own overhead under 50 concurrent web-chat threads, and the
 * rounds per second the queue path sustains.
 *
 * Runs the real bot (HTTP API, conversation core on PostgreSQL, BullMQ producer on Redis, results
 * relay, SSE hub) against the GPU-worker test double in a child process, so the figures are the
 * bot + queue + database path, never image generation. The simulated users run on a worker
 * thread, off the bot's event loop, like remote clients. Spans, measured inside the bot:
 *   enqueue = web message received by the service → round stored and job enqueued;
 *   post    = queue "completed" event received → update pushed to the thread's subscribers.
 *
 * Phase 1 (overhead): 50 threads paced like people: their first messages spread over one
 *   generation time, then a think time of 0–BENCH_THINK_MS (default 2000) between seeing a
 *   round's images and answering; a simulated generation time per round (BENCH_GENERATION_MS,
 *   default 1500) on BENCH_WORKER_CONCURRENCY (default 8) worker slots — busy, not saturated.
 * Stress (printed, not in the last line): all 50 first messages sent at the same instant.
 * Phase 2 (throughput): the same 50 threads in lockstep with instant generation: the bot, Redis
 *   and PostgreSQL are the bottleneck, so rounds/s is what the queue path sustains (its overhead
 *   figures, mostly waiting behind the other 49 threads, are printed too).
 * Last line: {"overhead_p50_ms":…,"overhead_p99_ms":…,"rounds_per_s":…}; overhead = the worse of
 * the two spans at each quantile in phase 1, rounds_per_s from phase 2.
 *
 * Env: BENCH_THREADS (50), BENCH_ROUNDS (rounds per thread, 3), BENCH_GENERATION_MS (1500),
 * BENCH_THINK_MS (2000), BENCH_WORKER_CONCURRENCY (8), TEST_DATABASE_URL / TEST_REDIS_URL.
 */
import 'reflect-metadata';
import { GenerationQueueProducer } from '@vca/queue';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { OverheadRecorder, quantile } from '../../src/results/overhead.recorder';
import { WebEventsHub } from '../../src/web/web-events.hub';
import { TEST_REDIS_URL, startTestBot, type BotTestEnv } from '../support/bot-test-env';
import type { ChatLoadData, FromChatLoad, Pacing, ToChatLoad } from './chat-load.worker';

const THREADS = Number(process.env['BENCH_THREADS'] ?? 50);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const GENERATION_MS = Number(process.env['BENCH_GENERATION_MS'] ?? 1500);
const WORKER_CONCURRENCY = Number(process.env['BENCH_WORKER_CONCURRENCY'] ?? 8);
const THINK_MS = Number(process.env['BENCH_THINK_MS'] ?? 2000);
const LOCKSTEP: Pacing = { rampMs: 0, thinkMs: 0, seed: 1 };
const FEEDBACK = ['make it brighter', 'add a red balloon', 'no clouds', 'more contrast', 'replace the dog with a cat'];

interface PhaseResult {
  rounds: number;
  seconds: number;
  enqueue: number[];
  post: number[];
  queueShare: number[];
  http: number[];
}

const fmt = (ms: number) => ms.toFixed(2);
const p = (xs: number[], q: number) => quantile(xs, q);

/**
 * The load: the users run on a worker thread (chat-load.worker.ts); this side forwards each
 * round's completion to them and collects the bot's own overhead samples.
 */
class ChatLoad {
  private readonly users: Worker;
  private readonly queueShare: number[] = [];

  constructor(private readonly bot: BotTestEnv) {
    this.users = new Worker(resolve(__dirname, 'chat-load.worker.ts'), {
      workerData: { baseUrl: bot.baseUrl, feedback: FEEDBACK } satisfies ChatLoadData,
    });
    // One subscription to every thread: a result may arrive before the HTTP reply that names it.
    bot.app
      .get(WebEventsHub)
      .all()
      .subscribe((u) => {
        if (u.kind !== 'completed' && u.kind !== 'failed') return;
        this.users.postMessage({ type: 'finished', roundId: u.roundId, failure: u.kind === 'failed' ? u.reason : null } satisfies ToChatLoad);
      });
    // Split of the enqueue span: the BullMQ producer's share (the rest is the core's PostgreSQL work).
    const producer = bot.app.get(GenerationQueueProducer);
    const enqueueJob = producer.enqueue.bind(producer);
    producer.enqueue = async (job) => {
      const t = performance.now();
      try {
        return await enqueueJob(job);
      } finally {
        this.queueShare.push(performance.now() - t);
      }
    };
  }

  async run(threads: number, rounds: number, pacing: Pacing): Promise<PhaseResult> {
    const overhead = this.bot.app.get(OverheadRecorder);
    overhead.reset();
    this.queueShare.length = 0;
    const t0 = performance.now();
    const ran = new Promise<FromChatLoad>((done) => this.users.once('message', done));
    this.users.postMessage({ type: 'run', threads, rounds, pacing } satisfies ToChatLoad);
    const reply = await ran;
    if (reply.type === 'error') throw new Error(reply.message);
    return {
      rounds: reply.rounds,
      seconds: (performance.now() - t0) / 1000,
      enqueue: overhead.values('enqueue'),
      post: overhead.values('post'),
      queueShare: [...this.queueShare],
      http: reply.http,
    };
  }

  close(): Promise<number> {
    return this.users.terminate();
  }
}

/** The worker double in its own process (gpu-worker.double.main.ts), resolved once it consumes. */
async function spawnWorker(bot: BotTestEnv, generationMs: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', resolve(__dirname, '../support/gpu-worker.double.main.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: bot.db.url,
      DATABASE_SCHEMA: bot.db.schema,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: bot.config.QUEUE_PREFIX,
      IMAGE_DIR: bot.config.IMAGE_DIR,
      WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      WORKER_GENERATION_MS: String(generationMs),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((ready, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && ready());
    child.once('exit', (code) => fail(new Error(`worker double exited with ${code}`)));
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await once(child, 'exit');
}

function report(name: string, r: PhaseResult): void {
  console.log(`${name}: ${r.rounds} rounds in ${r.seconds.toFixed(2)} s = ${(r.rounds / r.seconds).toFixed(1)} rounds/s`);
  console.log(`  enqueue (message received → job enqueued): p50 ${fmt(p(r.enqueue, 0.5))} ms, p99 ${fmt(p(r.enqueue, 0.99))} ms (n=${r.enqueue.length})`);
  console.log(`    of which BullMQ producer enqueue:        p50 ${fmt(p(r.queueShare, 0.5))} ms, p99 ${fmt(p(r.queueShare, 0.99))} ms`);
  console.log(`  post (result event → message posted):      p50 ${fmt(p(r.post, 0.5))} ms, p99 ${fmt(p(r.post, 0.99))} ms (n=${r.post.length})`);
  console.log(`  HTTP round trip of a message (client):     p50 ${fmt(p(r.http, 0.5))} ms, p99 ${fmt(p(r.http, 0.99))} ms`);
}

async function main(): Promise<void> {
  // PROMPT_BLOCKLIST / DAILY_ROUND_QUOTA pass through, to measure the message path with them on.
  const safety = Object.fromEntries(['PROMPT_BLOCKLIST', 'DAILY_ROUND_QUOTA'].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
  const bot = await startTestBot('bench', { LOG_LEVEL: 'error', GENERATION_STEPS: '4', QUEUE_POSITION_POLL_MS: '1000', ...safety });
  const load = new ChatLoad(bot);
  console.log(
    `node ${process.version} ${process.platform}/${process.arch}; load average before: ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ` +
      `${THREADS} threads × ${ROUNDS} rounds; worker: GPU-worker test double (no model), ${WORKER_CONCURRENCY} slots, child process`,
  );

  let worker = await spawnWorker(bot, GENERATION_MS);
  await load.run(2, 1, LOCKSTEP); // warm-up: JIT, pools, query plans
  const paced = await load.run(THREADS, ROUNDS, { rampMs: GENERATION_MS, thinkMs: THINK_MS, seed: 7 });
  report(`phase 1, overhead (users paced: starts over ${GENERATION_MS} ms, think 0–${THINK_MS} ms; ${GENERATION_MS} ms simulated generation)`, paced);
  const burst = await load.run(THREADS, 1, LOCKSTEP);
  await stopWorker(worker);
  report(`stress, ${THREADS} first messages at the same instant`, burst);

  worker = await spawnWorker(bot, 0);
  const saturated = await load.run(THREADS, ROUNDS, LOCKSTEP);
  await stopWorker(worker);
  report('phase 2, throughput (instant generation)', saturated);

  await load.close();
  await bot.close();
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2-core machine shared with other work)`);
  console.log(
    JSON.stringify({
      overhead_p50_ms: Number(Math.max(p(paced.enqueue, 0.5), p(paced.post, 0.5)).toFixed(2)),
      overhead_p99_ms: Number(Math.max(p(paced.enqueue, 0.99), p(paced.post, 0.99)).toFixed(2)),
      rounds_per_s: Number((saturated.rounds / saturated.seconds).toFixed(1)),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
