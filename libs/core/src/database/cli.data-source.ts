// Entry point for the TypeORM CLI (`typeorm -d libs/core/src/database/cli.data-source.ts …`).
import 'reflect-metadata';
import { DEFAULT_DATABASE_URL, createDataSource } from './data-source.factory';

export default createDataSource(process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL, {
  schema: process.env['VCA_DB_SCHEMA'] || undefined,
  poolSize: 2,
});
