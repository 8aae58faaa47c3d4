import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { createTestDatabase } from '@vca/core';
import IORedis from 'ioredis';
import { Logger } from 'nestjs-pino';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BotAppModule } from '../../src/bot-app.module';
import { loadBotConfig } from '../../src/config/bot-config.util';
import { DISCORD_CONFIG, loadDiscordConfig } from '../../src/discord/discord-config.schema';
import { SLACK_CONFIG, loadSlackConfig } from '../../src/slack/slack-config.schema';
import type { BotTestEnv } from '../support/bot-test-env';

export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/**
 * The whole bot app (with its Discord and Slack modules) for one test file, on its
 * own Postgres schema, BullMQ prefix and image directory. `platformEnv` configures the adapters
 * (DISCORD_* / SLACK_*), as the process environment would.
 */
export async function startPlatformBot(tag: string, overrides: Record<string, string>, platformEnv: Record<string, string>): Promise<BotTestEnv> {
  const db = await createTestDatabase({ prefix: `bot_${tag}` });
  const prefix = `vca-test-bot-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const imageDir = await mkdtemp(join(tmpdir(), `vca-bot-${tag}-`));
  const config = loadBotConfig({
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    IMAGE_DIR: imageDir,
    LOG_LEVEL: 'warn',
    PORT: '0',
    QUEUE_POSITION_POLL_MS: '200',
    GENERATION_STEPS: '4',
    JOB_BACKOFF_MS: '50',
    ...overrides,
  });
  const moduleRef = await Test.createTestingModule({ imports: [BotAppModule.forRoot(config)] })
    .overrideProvider(DISCORD_CONFIG)
    .useValue(loadDiscordConfig(platformEnv))
    .overrideProvider(SLACK_CONFIG)
    .useValue(loadSlackConfig(platformEnv))
    .compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bufferLogs: true });
  app.useLogger(app.get(Logger));
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    config,
    db,
    baseUrl: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await db.drop();
      await rm(imageDir, { recursive: true, force: true });
      await deleteRedisPrefix(prefix);
    },
  };
}

async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new IORedis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
