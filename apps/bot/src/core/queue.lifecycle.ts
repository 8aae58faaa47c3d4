import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ConversationService } from '@vca/core';
import { GenerationQueueProducer } from '@vca/queue';
import { DataSource } from 'typeorm';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';

/**
 * Starts the queue producer once the app is wired and re-enqueues rounds a previous run left
 * queued (job ids derive from round ids, so a job still in Redis is not duplicated). Shutdown
 * closes the queue before the database so no event handler runs against a closed pool.
 */
@Injectable()
export class QueueLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private static readonly RESUME_INTERVAL_MS = 30_000;
  private readonly logger = new Logger(QueueLifecycle.name);
  private timer: NodeJS.Timeout | null = null;
  private resuming = false;

  constructor(
    private readonly producer: GenerationQueueProducer,
    private readonly conversation: ConversationService,
    private readonly dataSource: DataSource,
    @Inject(BOT_CONFIG) private readonly config: BotConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // ioredis reconnects by itself; say why start-up is waiting instead of hanging silently.
    const started = Date.now();
    const nag = setInterval(
      () => this.logger.warn(`waiting for Redis at ${redactUrl(this.config.REDIS_URL)} (${Math.round((Date.now() - started) / 1000)} s)`),
      5_000,
    );
    try {
      await this.producer.start();
    } finally {
      clearInterval(nag);
    }
    await this.resume('left from a previous run');
    // A round stored while Redis was unreachable (QUEUE_UNAVAILABLE) waits for this pass.
    this.timer = setInterval(() => void this.resume('stored while the queue was unreachable'), QueueLifecycle.RESUME_INTERVAL_MS);
    this.timer.unref();
  }

  private async resume(why: string): Promise<void> {
    if (this.resuming) return;
    this.resuming = true;
    try {
      const resumed = await this.conversation.resumeQueuedRounds();
      // Rounds still in the queue are counted too (their enqueue is a no-op), hence debug level.
      if (resumed.length) this.logger.debug(`re-enqueued ${resumed.length} waiting round(s) (${why}; duplicates are no-ops)`);
    } catch (err) {
      this.logger.warn(`could not re-enqueue waiting rounds: ${(err as Error).message}`);
    } finally {
      this.resuming = false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.producer.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** A URL without its password, for logs. */
function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
