import { z } from 'zod';

/**
 * Environment fields both apps read. Each app composes its own schema from these (style anchor 6:
 * validate once, cache, fail at boot naming the variable).
 */

/** "true"/"false"/"1"/"0"; anything else is a configuration error rather than a silent false. */
export const envBoolean = z
  .enum(['true', 'false', '1', '0'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1');

export const envPort = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const envInt = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const redisUrl = z
  .string()
  .url()
  .refine((u) => /^rediss?:\/\//.test(u), 'expected a redis:// or rediss:// URL');
const postgresUrl = z
  .string()
  .url()
  .refine((u) => /^postgres(ql)?:\/\//.test(u), 'expected a postgres:// URL');

export const CommonEnvFields = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/vca'),
  /** Postgres schema for all tables; tests isolate themselves with one schema per file. */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case SQL identifier')
    .default('public'),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; producers and workers must agree on it. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, _ . -')
    .default('vca'),
  /** Apply pending migrations at start (issue 5: "unless told not to"). */
  MIGRATIONS_RUN: envBoolean.default(true),
  /** Content-addressed image directory, shared by the bot and the GPU server. */
  IMAGE_DIR: z.string().min(1).default('data/images'),
};
