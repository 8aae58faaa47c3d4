import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import IORedis from 'ioredis';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';
import { SlackConnection } from './slack-connection.service';

/** Slack retries an event for up to about an hour (three retries, backing off); keep ids a day. */
const SEEN_TTL_S = 86_400;

/**
 * Retried Events API deliveries (x-slack-retry-num, same event_id) are no-ops (issue 6): the
 * first delivery of an event id claims it in Redis (SET NX), so a retry, even one landing on
 * another bot replica, finds it claimed and is dropped after Bolt has acknowledged it.
 */
@Injectable()
export class SlackEventDedupe implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('SlackAdapter');
  private redis: IORedis | null = null;

  constructor(
    private readonly connection: SlackConnection,
    @Inject(BOT_CONFIG) private readonly config: BotConfig,
  ) {}

  onModuleInit(): void {
    const app = this.connection.app;
    if (!app) return;
    this.redis = new IORedis(this.config.REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.redis.on('error', () => undefined); // logged per event below
    app.use(async ({ body, context, next }) => {
      const eventId = (body as { event_id?: unknown }).event_id;
      if (typeof eventId === 'string' && !(await this.claim(eventId))) {
        this.logger.log(`event ${eventId} delivered again (retry ${context.retryNum ?? '?'}, ${context.retryReason ?? 'no reason'}); ignored`);
        return;
      }
      await next();
    });
  }

  /** True for the first delivery of an event id. With Redis down, processes it (a lost label is worse than a rare double). */
  async claim(eventId: string): Promise<boolean> {
    try {
      return (await this.redis!.set(`${this.config.QUEUE_PREFIX}:slack:event:${eventId}`, '1', 'EX', SEEN_TTL_S, 'NX')) === 'OK';
    } catch (err) {
      this.logger.warn(`event de-duplication unavailable (${(err as Error).message}); processing ${eventId}`);
      return true;
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.redis?.disconnect();
  }
}
