import { Client } from 'pg';
import { DataSource, type DataSourceOptions, type Logger, type MigrationInterface } from 'typeorm';
import { z } from 'zod';
import { CORE_MIGRATIONS } from '../../../../migrations';
import { CORE_ENTITIES } from '../entities';
import { SnakeNamingStrategy } from './snake-naming.strategy';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export const CreateDataSourceOptionsSchema = z.object({
  /** Postgres schema to use (search_path and TypeORM `schema`); default `public`. */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'schema must be a lower-case SQL identifier')
    .optional(),
  /** Connection pool size. */
  poolSize: z.number().int().min(1).max(100).default(10),
  /** Log SQL queries (debugging only). */
  logging: z.boolean().default(false),
  applicationName: z.string().default('vca'),
});
export type CreateDataSourceOptions = z.input<typeof CreateDataSourceOptionsSchema> & {
  /** Replace TypeORM's logger (e.g. a pino adapter). */
  logger?: Logger;
  /** Extra migrations to run after the core ones (tests only). */
  extraMigrations?: Array<new () => MigrationInterface>;
};

/** DataSource options for the VCA schema; exported for the TypeORM CLI. */
export function dataSourceOptions(url: string, opts: CreateDataSourceOptions = {}): DataSourceOptions {
  const parsedUrl = z.string().url().safeParse(url);
  if (!parsedUrl.success) throw new Error(`DATABASE_URL is not a valid URL: ${JSON.stringify(url)}`);
  const o = CreateDataSourceOptionsSchema.parse(opts);
  return {
    type: 'postgres',
    url,
    schema: o.schema,
    entities: CORE_ENTITIES,
    migrations: [...CORE_MIGRATIONS, ...(opts.extraMigrations ?? [])],
    migrationsTableName: 'typeorm_migrations',
    // One transaction per migration: a failing migration leaves the schema at the previous one.
    migrationsTransactionMode: 'each',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    logging: o.logging,
    logger: opts.logger,
    poolSize: o.poolSize,
    applicationName: o.applicationName,
    // search_path makes the unqualified names of generated migrations land in `schema`.
    extra: o.schema ? { options: `-c search_path=${o.schema}` } : undefined,
  };
}

/** A DataSource for the VCA schema (not yet initialised). */
export function createDataSource(url: string, opts: CreateDataSourceOptions = {}): DataSource {
  return new DataSource(dataSourceOptions(url, opts));
}

/**
 * Initialise `dataSource` if needed and apply pending migrations. Apps call this at start unless
 * configured not to. Returns the names of the migrations applied now.
 *
 * The bot and the GPU server start together (docker compose) and TypeORM does not lock its
 * migrations table, so both would run the same migration and one would fail. A Postgres advisory
 * lock, keyed by schema, makes the second wait and then find nothing pending. It is held on a
 * connection of its own, outside the pool, so any pool size works.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  if (!dataSource.isInitialized) await dataSource.initialize();
  const options = dataSource.options as { schema?: string; url?: string };
  const lockKey = `vca-migrations:${options.schema ?? 'public'}`;
  const lock = new Client({ connectionString: options.url, application_name: 'vca-migration-lock' });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    // Closing the session releases the lock even if the unlock fails.
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => undefined);
    await lock.end();
  }
}
