import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '@vca/core';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';

/**
 * Session-level advisory lock held while migrating a schema: TypeORM takes no lock of its own,
 * and replicas starting together must not both migrate. Keyed by schema, so test files that each
 * own a schema do not wait for one another.
 */
const migrationLockKey = (schema: string) => `vca:migrations:${schema}`;

/**
 * Owns the PostgreSQL connection: initialises it at boot and applies pending migrations there,
 * unless MIGRATIONS_RUN=false (issue 5: "the apps apply pending migrations at start unless told
 * not to").
 */
@Injectable()
export class DatabaseService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseService.name);
  readonly dataSource: DataSource;

  constructor(@Inject(GPU_SERVER_CONFIG) private readonly config: GpuServerConfig) {
    this.dataSource = createDataSource(config.DATABASE_URL, {
      schema: config.DATABASE_SCHEMA === 'public' ? undefined : config.DATABASE_SCHEMA,
      applicationName: 'vca-gpu-server',
      poolSize: 5,
    });
  }

  async onModuleInit(): Promise<void> {
    if (this.config.MIGRATIONS_RUN) {
      await this.dataSource.initialize();
      // A dedicated schema (DATABASE_SCHEMA) is created on first start, like the tables in it.
      const lock = this.dataSource.createQueryRunner();
      try {
        await lock.query('SELECT pg_advisory_lock(hashtext($1))', [migrationLockKey(this.config.DATABASE_SCHEMA)]);
        // (Not for `public`: CREATE SCHEMA checks the CREATE privilege even when the schema exists.)
        if (this.config.DATABASE_SCHEMA !== 'public') {
          await this.dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${this.config.DATABASE_SCHEMA}"`);
        }
        const applied = await runMigrations(this.dataSource);
        if (applied.length > 0) this.logger.log(`applied migrations: ${applied.join(', ')}`);
      } finally {
        await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [migrationLockKey(this.config.DATABASE_SCHEMA)]).catch(() => undefined);
        await lock.release();
      }
    } else if (!this.dataSource.isInitialized) {
      await this.dataSource.initialize();
    }
  }

  async ping(): Promise<boolean> {
    try {
      await this.dataSource.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
