/**
 * The real GPU server (apps/gpu-server: BullMQ workers running the diffusion runtime) on a small
 * random-weight fixture model from @vca/diffusion, sharing the bot's database schema, queue prefix
 * and image directory — the end-to-end path of issue 5 with nothing doubled.
 */
import type { INestApplication } from '@nestjs/common';
import { writeFixtureModel } from '@vca/diffusion';
import { GpuServerEnvSchema, parseEnv } from '@vca/shared';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGpuServerApp } from '../../../gpu-server/src/app.factory';
import { JobWorkersService } from '../../../gpu-server/src/jobs/job-workers.service';
import { loadDiffusionImageGenerator } from '../../../gpu-server/src/model/diffusion-image.generator';
import { TEST_REDIS_URL, type BotTestEnv } from './bot-test-env';

export interface RealGpuServer {
  app: INestApplication;
  close(): Promise<void>;
}

/**
 * `modelDir`: a model to serve instead of the fixture (e.g. `models/default`, whose dual encoder
 * lets the worker score rounds; the fixture has none, so its rounds are unscored).
 */
export async function startRealGpuServer(bot: BotTestEnv, opts: { modelDir?: string; env?: Record<string, string> } = {}): Promise<RealGpuServer> {
  const fixtureDir = opts.modelDir ? null : await mkdtemp(join(tmpdir(), 'vca-bot-model-'));
  if (fixtureDir) writeFixtureModel(fixtureDir, { seed: 7 });
  const modelDir = opts.modelDir ?? fixtureDir!;
  const config = parseEnv('gpu-server', GpuServerEnvSchema, {
    DATABASE_URL: bot.db.url,
    DATABASE_SCHEMA: bot.db.schema,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: bot.config.QUEUE_PREFIX,
    IMAGE_DIR: bot.config.IMAGE_DIR,
    MODEL_DIR: modelDir,
    LOG_LEVEL: 'warn',
    PORT: '0',
    HOST: '127.0.0.1',
    ORT_INTRA_OP_THREADS: '1',
    ...opts.env,
  });
  const app = await createGpuServerApp({ config, loadGenerator: loadDiffusionImageGenerator });
  await app.listen(0, '127.0.0.1');
  await app.get(JobWorkersService).waitUntilReady();
  return {
    app,
    async close() {
      await app.close();
      if (fixtureDir) await rm(fixtureDir, { recursive: true, force: true });
    },
  };
}
