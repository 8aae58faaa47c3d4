import type { Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConversationService, ModelVersionService, RuleBasedPromptRefiner, TrainingRunService, type GenerationQueuePort } from '@vca/core';
import { DatabaseService } from '../database/database.service';
import { ROUND_RESULTS } from '../jobs/round-results.port';

/**
 * The GPU server never starts rounds: it only records their outcome. A port that refuses makes
 * a wiring mistake loud instead of enqueueing from the consumer side.
 */
const noEnqueue: GenerationQueuePort = {
  enqueue: () => Promise.reject(new Error('the GPU server does not enqueue generation jobs')),
};

export const coreProviders: Provider[] = [
  { provide: DataSource, inject: [DatabaseService], useFactory: (db: DatabaseService) => db.dataSource },
  {
    provide: ROUND_RESULTS,
    inject: [DataSource],
    useFactory: (ds: DataSource) => new ConversationService(ds, noEnqueue, new RuleBasedPromptRefiner()),
  },
  { provide: TrainingRunService, inject: [DataSource], useFactory: (ds: DataSource) => new TrainingRunService(ds) },
  { provide: ModelVersionService, inject: [DataSource], useFactory: (ds: DataSource) => new ModelVersionService(ds) },
];
