import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { createDataSource, createTestDatabase, runMigrations, type TestDatabase } from '@vca/core';

describe('database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_db' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('applies the committed migrations into the test schema only', async () => {
    const tables: Array<{ table_name: string }> = await db.dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [db.schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'dialogues',
      'feedback_events',
      'images',
      'model_versions',
      'moderation_actions',
      'prompt_block_terms',
      'raters',
      'rounds',
      'training_runs',
      'typeorm_migrations',
    ]);
  });

  it('has no pending migrations and the entities match the migrated schema', async () => {
    expect(await runMigrations(db.dataSource)).toEqual([]);
    // The diff TypeORM would generate: empty means the committed migrations cover every entity.
    const diff = await db.dataSource.driver.createSchemaBuilder().log();
    expect(diff.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('reverts every migration and applies them again', async () => {
    const count = (await db.dataSource.query('SELECT count(*)::int AS n FROM typeorm_migrations'))[0].n as number;
    expect(count).toBeGreaterThan(0);
    for (let i = 0; i < count; i++) await db.dataSource.undoLastMigration({ transaction: 'each' });
    const left: Array<{ table_name: string }> = await db.dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
      [db.schema],
    );
    expect(left.map((t) => t.table_name)).toEqual(['typeorm_migrations']);
    expect(await runMigrations(db.dataSource)).toHaveLength(count);
  });

  it('rejects values outside a column\'s value set', async () => {
    await expect(
      db.dataSource.query(`INSERT INTO raters (id, platform) VALUES ('x', 'myspace')`),
    ).rejects.toThrow(/CHK_raters_platform/);
  });

  it('lets two apps starting together migrate the same empty schema', async () => {
    const schema = `${db.schema}_race`;
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const a = createDataSource(db.url, { schema, poolSize: 1 });
    const b = createDataSource(db.url, { schema, poolSize: 1 });
    try {
      const [fromA, fromB] = await Promise.all([runMigrations(a), runMigrations(b)]);
      // Exactly one of them applied the migrations; the other found nothing pending.
      expect([fromA.length, fromB.length].sort()).toEqual([0, fromA.length + fromB.length]);
      expect(fromA.length + fromB.length).toBeGreaterThan(0);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    }
  });
});
