import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { TrainingStage } from '@vca/core';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from './config/gpu-server-config.token';
import { coreProviders } from './core/core.providers';
import { DatabaseService } from './database/database.service';
import { HealthController } from './http/health.controller';
import { ImagesController } from './http/images.controller';
import { JobLookupService } from './http/job-lookup.service';
import { JobsController } from './http/jobs.controller';
import { ModelsController } from './http/models.controller';
import { GenerationProcessor } from './jobs/generation.processor';
import { JobWorkersService } from './jobs/job-workers.service';
import { TrainingProcessor } from './jobs/training.processor';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { QueueDepthCollector } from './metrics/queue-depth.collector';
import { IMAGE_GENERATOR_LOADER, type ImageGeneratorLoader } from './model/image-generator.port';
import { CandidateScorer } from './model/candidate-scorer.service';
import { ModelService } from './model/model.service';
import { rewardScorerLoader } from './model/reward-scorer.loader';
import { REWARD_SCORER_LOADER, type RewardScorerLoader } from './model/reward-scorer.port';
import { RedisHealthService } from './redis/redis-health.service';
import { imageStorageProvider } from './storage/image-storage.provider';
import { BaseModelVersion } from './training/base-model.registrar';
import { trainingProviders } from './training/training.providers';

export interface GpuServerModuleOptions {
  config: GpuServerConfig;
  /** Loads the diffusion runtime for MODEL_DIR (the ONNX adapter in production). */
  loadGenerator: ImageGeneratorLoader;
  /** Loads reward scorers; default `@vca/reward` on MODEL_DIR's dual encoder (NO_REWARD_SCORER: never score). */
  rewardScorers?: RewardScorerLoader;
  /** Training stages in place of the built-in list (training/training.providers.ts); tests. */
  trainingStages?: readonly TrainingStage[];
}

/** The GPU server: queue workers (generation, training), HTTP, metrics. Thin wiring only. */
@Module({})
export class GpuServerModule {
  static register(opts: GpuServerModuleOptions): DynamicModule {
    return {
      module: GpuServerModule,
      imports: [
        DiscoveryModule,
        LoggerModule.forRoot({
          pinoHttp: {
            level: opts.config.LOG_LEVEL,
            // Health probes and scrapes every few seconds would drown the request log.
            autoLogging: { ignore: (req) => ['/health', '/metrics'].includes(req.url ?? '') },
          },
        }),
      ],
      controllers: [HealthController, ModelsController, JobsController, ImagesController, MetricsController],
      providers: [
        { provide: GPU_SERVER_CONFIG, useValue: opts.config },
        { provide: IMAGE_GENERATOR_LOADER, useValue: opts.loadGenerator },
        { provide: REWARD_SCORER_LOADER, useValue: opts.rewardScorers ?? rewardScorerLoader },
        DatabaseService,
        RedisHealthService,
        MetricsService,
        QueueDepthCollector,
        ModelService,
        CandidateScorer,
        JobLookupService,
        imageStorageProvider,
        ...coreProviders,
        BaseModelVersion,
        ...trainingProviders(opts.trainingStages),
        GenerationProcessor,
        TrainingProcessor,
        JobWorkersService,
      ],
    };
  }
}
