// `npm run bench:core`: latency of the conversation core's own work against the local PostgreSQL
// (no queue, no GPU): handleMessage (store + refine + enqueue through an in-process port),
// recordGenerationResult and recordFeedback, with THREADS dialogues running concurrently; then, as a
// second phase, one reroll and one vary per thread (`button`: the duplicate-safe button path).
// PROMPT_BLOCKLIST (comma-separated) and DAILY_ROUND_QUOTA switch the block list and the quota on.
// Prints p50/p99 per operation; the last line is one JSON object.
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import type { GenerationJob } from '@vca/shared';
import {
  ConversationService,
  DialogueQueryService,
  FeedbackService,
  PromptPolicy,
  RuleBasedPromptRefiner,
  parseTermList,
  createTestDatabase,
  generationJobId,
  type GenerationQueuePort,
} from '../src';
import { fakeResult } from '../test/support/fakes';

const THREADS = Number(process.env['BENCH_THREADS'] ?? 50);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

class InProcessQueue implements GenerationQueuePort {
  readonly jobs = new Map<string, GenerationJob>();
  async enqueue(job: GenerationJob): Promise<{ jobId: string }> {
    this.jobs.set(job.roundId, job);
    return { jobId: generationJobId(job.roundId) };
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function timed<T>(samples: number[], fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  samples.push(performance.now() - t0);
  return out;
}

async function main(): Promise<void> {
  const db = await createTestDatabase({ prefix: 'bench_core', poolSize: Number(process.env['BENCH_POOL'] ?? 20) });
  const queue = new InProcessQueue();
  const policy = new PromptPolicy(db.dataSource, { globalTerms: parseTermList(process.env['PROMPT_BLOCKLIST'] ?? '').terms });
  const options = { dailyRoundQuota: Number(process.env['DAILY_ROUND_QUOTA'] ?? 0) };
  const conversation = new ConversationService(db.dataSource, queue, new RuleBasedPromptRefiner(), options, policy);
  const feedback = new FeedbackService(db.dataSource);
  const samples = { message: [] as number[], result: [] as number[], feedback: [] as number[], button: [] as number[] };
  const feedbackTexts = ['make it red', 'add a dog', 'remove the trees', 'more light', 'no, blue'];
  let events = 0;

  const started = performance.now();
  let seconds = NaN;
  try {
    await Promise.all(
      Array.from({ length: THREADS }, async (_, t) => {
        for (let r = 0; r < ROUNDS; r++) {
          const text = r === 0 ? `a car in a city with trees, thread ${t}` : feedbackTexts[(t + r) % feedbackTexts.length]!;
          const started = await timed(samples.message, () =>
            conversation.handleMessage({ platform: 'web', workspaceId: 'bench', channelId: 'c', threadId: `t${t}`, userId: `u${t}`, text }),
          );
          const job = queue.jobs.get(started.round.id)!;
          const done = await timed(samples.result, () => conversation.recordGenerationResult(fakeResult(job)));
          for (const [i, signal] of (['up', 'down', 'pick'] as const).entries()) {
            await timed(samples.feedback, () =>
              feedback.recordFeedback({
                platform: 'web',
                userId: `rater${(t + i) % 7}`,
                imageId: done!.images[i]!.id,
                signal,
                source: 'web',
                platformEventId: `e${++events}`,
              }),
            );
          }
        }
      }),
    );
    seconds = (performance.now() - started) / 1000;
    // Phase 2 (not in rounds_per_s): reroll the last round, then vary its first candidate.
    await Promise.all(
      Array.from({ length: THREADS }, async (_, t) => {
        const dialogue = await new DialogueQueryService(db.dataSource).findDialogueByThread('web', `t${t}`);
        const last = dialogue!.rounds.at(-1)!;
        const rerolled = await timed(samples.button, () => conversation.reroll({ platform: 'web', userId: `u${t}`, roundId: last.id, requestId: `reroll-${t}` }));
        const done = await conversation.recordGenerationResult(fakeResult(queue.jobs.get(rerolled.round.id)!));
        const varied = await timed(samples.button, () => conversation.vary({ platform: 'web', userId: `u${t}`, imageId: done!.images[0]!.id, requestId: `vary-${t}` }));
        await conversation.recordGenerationResult(fakeResult(queue.jobs.get(varied.round.id)!));
      }),
    );
  } finally {
    await db.drop();
  }
  const summary: Record<string, number> = { threads: THREADS, rounds: THREADS * ROUNDS, rounds_per_s: Number(((THREADS * ROUNDS) / seconds).toFixed(1)) };
  for (const [name, list] of Object.entries(samples)) {
    const sorted = [...list].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    console.log(`${name.padEnd(9)} n=${String(sorted.length).padStart(4)}  p50=${p50.toFixed(2)} ms  p99=${p99.toFixed(2)} ms`);
    summary[`${name}_p50_ms`] = Number(p50.toFixed(2));
    summary[`${name}_p99_ms`] = Number(p99.toFixed(2));
  }
  console.log(JSON.stringify(summary));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
