import type { DataSource, EntityManager } from 'typeorm';

/**
 * Run SQL and return its rows. TypeORM's Postgres driver returns `[rows, rowCount]` for UPDATE and
 * DELETE (even with RETURNING) but plain rows for SELECT and INSERT; this hides the difference.
 */
export async function queryRows<T>(db: DataSource | EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  const res: unknown = await db.query(sql, params);
  if (Array.isArray(res) && res.length === 2 && Array.isArray(res[0]) && typeof res[1] === 'number') return res[0] as T[];
  return res as T[];
}
