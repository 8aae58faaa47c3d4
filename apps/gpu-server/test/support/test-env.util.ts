import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropPrefix } from '@vca/queue';
import { Client } from 'pg';
import { GpuServerEnvSchema, parseEnv, type GpuServerConfig } from '@vca/shared';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Isolated resources for one test file: an (empty) Postgres schema the app migrates itself, a
 * BullMQ prefix and an image directory nobody else uses.
 */
export interface TestEnv {
  schema: string;
  prefix: string;
  imageDir: string;
  config(overrides?: Record<string, string>): GpuServerConfig;
  env(overrides?: Record<string, string>): Record<string, string>;
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  cleanup(): Promise<void>;
}

export async function createTestEnv(tag: string): Promise<TestEnv> {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const schema = `gpu_${tag}_${id}`.toLowerCase();
  const prefix = `vca-test-gpu-${tag}-${id}`;
  const imageDir = await mkdtemp(join(tmpdir(), `vca-gpu-${tag}-`));
  const pg = new Client({ connectionString: TEST_DATABASE_URL });
  await pg.connect();
  await pg.query(`CREATE SCHEMA "${schema}"`);
  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    IMAGE_DIR: imageDir,
    LOG_LEVEL: 'warn',
    PORT: '0',
    HOST: '127.0.0.1',
    ...overrides,
  });
  return {
    schema,
    prefix,
    imageDir,
    env,
    config: (overrides) => parseEnv('gpu-server', GpuServerEnvSchema, env(overrides)),
    async sql<T>(text: string, params: unknown[] = []) {
      await pg.query(`SET search_path TO "${schema}"`);
      return (await pg.query(text, params)).rows as T[];
    },
    async cleanup() {
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pg.end();
      await rm(imageDir, { recursive: true, force: true });
      await dropPrefix(prefix, TEST_REDIS_URL);
    },
  };
}

export function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = async () => {
      try {
        if (await predicate()) return resolve();
      } catch {
        // not yet
      }
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(() => void check(), 50);
    };
    void check();
  });
}
