import type { DataSource } from 'typeorm';
import { ConversationService, FeedbackService, RuleBasedPromptRefiner, createDataSource, runMigrations, type ConversationOptions } from '@vca/core';
import { GenerationQueueProducer } from '@vca/queue';

/**
 * The bot's side of a round, without the bot: the core's conversation service enqueueing through
 * the real BullMQ producer, and the feedback service for labels.
 */
export interface DialogueHarness {
  dataSource: DataSource;
  producer: GenerationQueueProducer;
  conversation: ConversationService;
  feedback: FeedbackService;
  /** Final outcome per round id, recorded from the producer's events since start. */
  outcomes: Map<string, string>;
  /** Progress reports per round id, in arrival order. */
  progress: Map<string, string[]>;
  close(): Promise<void>;
}

export async function createDialogueHarness(opts: {
  databaseUrl: string;
  schema: string;
  redisUrl: string;
  prefix: string;
  conversation?: ConversationOptions;
}): Promise<DialogueHarness> {
  const dataSource = createDataSource(opts.databaseUrl, { schema: opts.schema, poolSize: 3 });
  // The tests that start the GPU server later need the tables first.
  await runMigrations(dataSource);
  const producer = new GenerationQueueProducer({
    redisUrl: opts.redisUrl,
    prefix: opts.prefix,
    backoffMs: 200,
    reconcileIntervalMs: 500,
  });
  const outcomes = new Map<string, string>();
  const progress = new Map<string, string[]>();
  producer
    .on('completed', (id) => outcomes.set(id, 'completed'))
    .on('failed', (id, reason) => outcomes.set(id, `failed: ${reason}`))
    .on('progress', (id, p) => progress.set(id, [...(progress.get(id) ?? []), `${p.step}/${p.totalSteps}`]));
  await producer.start();
  const options: ConversationOptions = { candidates: 2, steps: 4, guidanceScale: 3, ...opts.conversation };
  const conversation = new ConversationService(dataSource, producer, new RuleBasedPromptRefiner(), options);
  const feedback = new FeedbackService(dataSource, options);
  return {
    dataSource,
    producer,
    conversation,
    feedback,
    outcomes,
    progress,
    async close() {
      await producer.close();
      await dataSource.destroy();
    },
  };
}

/** Waits for the round's final event ('completed' or 'failed: <reason>'). */
export async function roundOutcome(h: DialogueHarness, roundId: string, timeoutMs = 30_000): Promise<string> {
  const started = Date.now();
  while (!h.outcomes.has(roundId)) {
    if (Date.now() - started > timeoutMs) throw new Error(`round ${roundId} did not finish in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return h.outcomes.get(roundId)!;
}
