import type { Provider } from '@nestjs/common';
import { GENERATION_QUEUE } from '@vca/core';
import { GenerationQueueProducer } from '@vca/queue';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';

/**
 * The BullMQ producer (libs/queue) is both the core's GenerationQueuePort and the source of the
 * progress / completed / failed events the results relay listens to.
 */
export const generationQueueProviders: Provider[] = [
  {
    provide: GenerationQueueProducer,
    inject: [BOT_CONFIG],
    useFactory: (config: BotConfig) =>
      new GenerationQueueProducer({
        redisUrl: config.REDIS_URL,
        prefix: config.QUEUE_PREFIX,
        perUserConcurrency: config.PER_USER_CONCURRENCY,
        attempts: config.JOB_ATTEMPTS,
        backoffMs: config.JOB_BACKOFF_MS,
      }),
  },
  { provide: GENERATION_QUEUE, useExisting: GenerationQueueProducer },
];
