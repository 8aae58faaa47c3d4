import { Injectable, Module } from '@nestjs/common';
import { DiscoveryModule, NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerateJob } from '@vca/queue';
import type { GenerationJob, GenerationResult } from '@vca/shared';
import { createGpuServerApp } from '../src/app.factory';
import { GPU_SERVER_CONFIG } from '../src/config/gpu-server-config.token';
import { JobProcessorFor } from '../src/jobs/job-processor.decorator';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { MetricsService } from '../src/metrics/metrics.service';
import { ModelService } from '../src/model/model.service';
import { createTestEnv, type TestEnv } from './support/test-env.util';

@Injectable()
@JobProcessorFor(GenerateJob)
class OnlyGenerationProcessor {
  async handle(job: GenerationJob): Promise<GenerationResult> {
    throw new Error(`not expected to run ${job.roundId}`);
  }
}

describe('gpu-server boot checks', () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await createTestEnv('boot');
  });
  afterAll(() => t?.cleanup());

  it('refuses to start when a declared job has no processor', async () => {
    @Module({
      imports: [DiscoveryModule],
      providers: [
        { provide: GPU_SERVER_CONFIG, useValue: t.config() },
        { provide: ModelService, useValue: { loaded: false } },
        MetricsService,
        OnlyGenerationProcessor,
        JobWorkersService,
      ],
    })
    class IncompleteModule {}
    await expect(NestFactory.createApplicationContext(IncompleteModule, { logger: false, abortOnError: false })).rejects.toThrow(
      /no handler for job\(s\): vca-training\/train/,
    );
  });

  it('leaves the schema alone with MIGRATIONS_RUN=false', async () => {
    const app = await createGpuServerApp({
      config: t.config({ MIGRATIONS_RUN: 'false', WORKERS_ENABLED: 'false' }),
      loadGenerator: async () => {
        throw new Error('no model here');
      },
    });
    try {
      await app.init();
      const tables = await t.sql('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [t.schema]);
      expect(tables).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
