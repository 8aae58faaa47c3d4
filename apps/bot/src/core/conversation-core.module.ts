import { Module, type Provider } from '@nestjs/common';
import {
  CONVERSATION_OPTIONS,
  ConversationService,
  createPromptRefiner,
  DialogueQueryService,
  FeedbackService,
  ModelVersionService,
  ModerationService,
  PROMPT_POLICY_OPTIONS,
  PROMPT_REFINER,
  PromptPolicy,
  TrainingRunService,
  type ConversationOptions,
  type PromptPolicyOptions,
} from '@vca/core';
import { DiskImageStorage } from '@vca/shared';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';
import { databaseProvider } from './database.provider';
import { generationQueueProviders } from './generation-queue.provider';
import { QueueLifecycle } from './queue.lifecycle';

const providers: Provider[] = [
  databaseProvider,
  ...generationQueueProviders,
  {
    provide: CONVERSATION_OPTIONS,
    inject: [BOT_CONFIG],
    useFactory: (config: BotConfig): ConversationOptions => ({
      candidates: config.CANDIDATES_PER_ROUND,
      steps: config.GENERATION_STEPS,
      guidanceScale: config.GUIDANCE_SCALE,
      raterIdSalt: config.RATER_ID_SALT,
      dailyRoundQuota: config.DAILY_ROUND_QUOTA,
      oversample: config.OVERSAMPLE,
    }),
  },
  {
    provide: PROMPT_POLICY_OPTIONS,
    inject: [BOT_CONFIG],
    useFactory: (config: BotConfig): PromptPolicyOptions => ({ globalTerms: config.PROMPT_BLOCKLIST }),
  },
  // One instance for the conversation core (checks) and moderation (invalidates on change).
  PromptPolicy,
  // REFINER_LLM_* were validated by loadBotConfig; unset means the built-in refiner.
  { provide: PROMPT_REFINER, useFactory: () => createPromptRefiner(process.env) },
  { provide: DiskImageStorage, inject: [BOT_CONFIG], useFactory: (config: BotConfig) => new DiskImageStorage(config.IMAGE_DIR) },
  ConversationService,
  DialogueQueryService,
  FeedbackService,
  ModerationService,
  TrainingRunService,
  ModelVersionService,
  QueueLifecycle,
];

/**
 * The platform-free conversation core (libs/core) wired to PostgreSQL, the BullMQ queue
 * (libs/queue) and the image store (libs/shared). Adapters import this module and call its
 * services; it knows nothing of any chat platform.
 */
@Module({ providers, exports: providers })
export class ConversationCoreModule {}
