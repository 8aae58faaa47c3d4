import type { Provider, Type } from '@nestjs/common';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import {
  TRAINING_PIPELINE_OPTIONS,
  TRAINING_STAGES,
  TrainingPipelineService,
  TrainingRunService,
  type TrainingPipelineOptions,
  type TrainingStage,
} from '@vca/core';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';
import { RewardStage } from './reward.stage';

/**
 * The stages a training run executes, in order (each an injectable class implementing the core's
 * `TrainingStage` port). Add a stage here — one line — and it is provided and run by every
 * training run. With none the runs end `skipped` ("no training stages configured").
 */
export const TRAINING_STAGE_CLASSES: ReadonlyArray<Type<TrainingStage>> = [RewardStage];

/** Pipeline settings from the environment (relative directories resolved against the cwd). */
export function trainingPipelineOptions(config: GpuServerConfig): TrainingPipelineOptions {
  return {
    workDir: resolve(config.TRAINING_WORK_DIR),
    imageDir: resolve(config.IMAGE_DIR),
    minTrainingPairs: config.MIN_TRAINING_PAIRS,
    minCommunityPairs: config.MIN_COMMUNITY_PAIRS,
  };
}

/**
 * The pipeline and its stages. `stages` replaces TRAINING_STAGE_CLASSES (tests, and deployments
 * that compose their own server through GpuServerModuleOptions.trainingStages).
 */
export function trainingProviders(stages?: readonly TrainingStage[]): Provider[] {
  const stageProviders: Provider[] = stages
    ? [{ provide: TRAINING_STAGES, useValue: [...stages] }]
    : [
        ...TRAINING_STAGE_CLASSES,
        { provide: TRAINING_STAGES, inject: [...TRAINING_STAGE_CLASSES], useFactory: (...list: TrainingStage[]) => list },
      ];
  return [...stageProviders, ...pipelineProviders];
}

const pipelineProviders: Provider[] = [
  {
    provide: TRAINING_PIPELINE_OPTIONS,
    inject: [GPU_SERVER_CONFIG],
    useFactory: trainingPipelineOptions,
  },
  {
    provide: TrainingPipelineService,
    inject: [DataSource, TRAINING_STAGES, TRAINING_PIPELINE_OPTIONS, TrainingRunService],
    useFactory: (ds: DataSource, stages: TrainingStage[], options: TrainingPipelineOptions, runs: TrainingRunService) =>
      new TrainingPipelineService(ds, stages, options, runs),
  },
];
