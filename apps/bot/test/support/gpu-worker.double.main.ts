/**
 * The GPU-worker TEST DOUBLE (see gpu-worker.double.ts) as its own process, so a benchmark's
 * numbers for the bot are not mixed with the worker's work on the same event loop — as with the
 * real GPU server, which is a separate process. Configured by the bot's variables plus
 * WORKER_CONCURRENCY and WORKER_GENERATION_MS (simulated time per round); prints "ready" once it consumes.
 */
import 'reflect-metadata';
import { createDataSource } from '@vca/core';
import { startGpuWorkerDouble } from './gpu-worker.double';

async function main(): Promise<void> {
  const env = process.env;
  const dataSource = createDataSource(env['DATABASE_URL']!, { schema: env['DATABASE_SCHEMA'], applicationName: 'vca-worker-double' });
  await dataSource.initialize();
  const worker = startGpuWorkerDouble({
    redisUrl: env['REDIS_URL']!,
    prefix: env['QUEUE_PREFIX']!,
    imageDir: env['IMAGE_DIR']!,
    dataSource,
    // Simulated generation time per round, reported as 4 progress steps.
    progressSteps: 4,
    stepDelayMs: Number(env['WORKER_GENERATION_MS'] ?? 0) / 4,
    concurrency: Number(env['WORKER_CONCURRENCY'] ?? 8),
  });
  await worker.worker.waitUntilReady();
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void worker
      .close()
      .then(() => dataSource.destroy())
      .finally(() => process.exit(0));
  });
}

void main();
