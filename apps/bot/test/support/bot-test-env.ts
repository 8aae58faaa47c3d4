import { createTestDatabase, type TestDatabase } from '@vca/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { dropPrefix } from '@vca/queue';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBotApp } from '../../src/bot-app.factory';
import type { BotConfig } from '../../src/config/bot-config.schema';
import { loadBotConfig } from '../../src/config/bot-config.util';

export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * One running bot for a test file, on its own Postgres schema (migrated by the app itself at
 * boot), BullMQ prefix and image directory, listening on a free localhost port.
 */
export interface BotTestEnv {
  app: NestExpressApplication;
  config: BotConfig;
  db: TestDatabase;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startTestBot(tag: string, overrides: Record<string, string> = {}): Promise<BotTestEnv> {
  return startBotWith(tag, overrides, createBotApp);
}

/**
 * The isolation every bot test needs (schema, BullMQ prefix, image directory, cleanup), with the
 * Nest application built by `build` — the platform tests build it with their fakes' credentials.
 */
export async function startBotWith(
  tag: string,
  overrides: Record<string, string>,
  build: (config: BotConfig) => Promise<NestExpressApplication>,
): Promise<BotTestEnv> {
  const db = await createTestDatabase({ prefix: `bot_${tag}` });
  const prefix = `vca-test-bot-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const imageDir = await mkdtemp(join(tmpdir(), `vca-bot-${tag}-`));
  const config = loadBotConfig({
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    IMAGE_DIR: imageDir,
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    PORT: '0',
    QUEUE_POSITION_POLL_MS: '200',
    GENERATION_STEPS: '4',
    JOB_BACKOFF_MS: '50',
    ...overrides,
  });
  const app = await build(config);
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
      await dropPrefix(prefix, TEST_REDIS_URL);
    },
  };
}

/** Polls until `predicate` holds (no fixed sleeps in tests). */
export async function until<T>(probe: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch {
      // not ready yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
