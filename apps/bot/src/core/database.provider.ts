import { Logger, type Provider } from '@nestjs/common';
import { createDataSource, runMigrations } from '@vca/core';
import { DataSource } from 'typeorm';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';

/**
 * The TypeORM DataSource of the core's schema, initialised before anything else resolves.
 * Pending migrations are applied at start unless MIGRATIONS_RUN=false (issue 5, item 2).
 */
export const databaseProvider: Provider = {
  provide: DataSource,
  inject: [BOT_CONFIG],
  useFactory: async (config: BotConfig): Promise<DataSource> => {
    const logger = new Logger('Database');
    const dataSource = createDataSource(config.DATABASE_URL, {
      schema: config.DATABASE_SCHEMA,
      poolSize: config.DATABASE_POOL_SIZE,
      applicationName: 'vca-bot',
    });
    if (config.MIGRATIONS_RUN) {
      const applied = await runMigrations(dataSource);
      logger.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'schema up to date');
    } else {
      await dataSource.initialize();
    }
    return dataSource;
  },
};
