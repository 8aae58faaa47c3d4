import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { DEFAULT_DATABASE_URL, createDataSource, runMigrations } from '../database/data-source.factory';

export interface TestDatabase {
  dataSource: DataSource;
  /** The schema this test file owns. */
  schema: string;
  url: string;
  /** Close the pool and drop the schema. */
  drop(): Promise<void>;
}

/**
 * A fresh Postgres schema with all migrations applied, for one test file: tests run in parallel
 * against the same database (`TEST_DATABASE_URL`, else `DATABASE_URL`, else the local `test`).
 */
export async function createTestDatabase(opts: { url?: string; prefix?: string; poolSize?: number } = {}): Promise<TestDatabase> {
  const url = opts.url ?? process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL;
  const prefix = (opts.prefix ?? 't').toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30);
  const schema = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(url, (c) => c.query(`CREATE SCHEMA "${schema}"`));
  const dataSource = createDataSource(url, { schema, poolSize: opts.poolSize ?? 4, applicationName: `vca-test-${schema}` });
  try {
    await runMigrations(dataSource);
  } catch (error) {
    await withClient(url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    throw error;
  }
  return {
    dataSource,
    schema,
    url,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await withClient(url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    },
  };
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
