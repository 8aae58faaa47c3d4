// @vca/core — the platform-free domain of VCA: data model, conversation core, feedback,
// moderation, curated data and training runs. See libs/core/README.md.
import 'reflect-metadata';

export * from './entities';
export { SnakeNamingStrategy } from './database/snake-naming.strategy';
export {
  DEFAULT_DATABASE_URL,
  createDataSource,
  dataSourceOptions,
  runMigrations,
  type CreateDataSourceOptions,
} from './database/data-source.factory';
export { CoreError, CoreErrorCode, isCoreError } from './errors/core.error';

export { GENERATION_QUEUE, generationJobId, type GenerationQueuePort } from './conversation/generation-queue.port';
export * from './conversation/conversation.types';
export { ConversationService } from './conversation/conversation.service';
export { DialogueQueryService } from './conversation/dialogue-query.service';
export type { QuotaUsage } from './conversation/daily-quota';
export { planCandidates, seedFor } from './conversation/candidate-plan.util';

export * from './refiner/prompt-refiner.port';
export { RuleBasedPromptRefiner, splitClauses } from './refiner/rule-based.refiner';
export { SceneWorldPromptRefiner, isScenePrompt } from './refiner/scene-world.refiner';
export {
  LlmRefinerConfigSchema,
  OpenAiChatPromptRefiner,
  REFINER_SYSTEM_PROMPT,
  type LlmRefinerConfig,
} from './refiner/openai-chat.refiner';
export { REFINER_ENV, createPromptRefiner, llmRefinerConfigFromEnv } from './refiner/refiner.config';

export * from './feedback/feedback.types';
export { FeedbackService } from './feedback/feedback.service';
export { pseudonymousId } from './feedback/pseudonymous-id.util';

export * from './curation/curation.types';
export { CuratedDataService, type CuratedDataSummary } from './curation/curated-data.service';
export { buildPreferencePairs, toJsonl } from './curation/preference-pairs.util';
export {
  dataOfCommunity,
  loserOf,
  mismatchedNegatives,
  pairTrainingWeights,
  pairCountsByCommunity,
  seededRandom,
  splitByDialogue,
  stableUnit,
  type DialogueSplit,
  type DialogueSplitOptions,
  type MismatchOptions,
} from './curation/pair-sets.util';
export { GLOBAL_COMMUNITY_KEY, communityIdOf, communityKey } from './curation/community.util';
export { imagePathFor } from './curation/image-path.util';

export * from './safety/prompt-policy.types';
export { PromptPolicy } from './safety/prompt-policy.service';
export { MAX_TERM_CHARS, findBlockedTerm, normaliseForMatching, normaliseTerm, parseTermList } from './safety/prompt-terms.util';

export * from './moderation/moderation.types';
export { ModerationService } from './moderation/moderation.service';

export {
  TrainingRunService,
  ScheduleRunSchema,
  type ProgressReport,
  type ScheduleRunInput,
  type ScheduledRun,
  type StageKey,
  type StartedRun,
  type TrainingRunEndStatus,
} from './training/training-run.service';
export {
  ModelVersionService,
  RegisterModelVersionSchema,
  type ListModelVersionsFilter,
  type RegisterModelVersionInput,
} from './training/model-version.service';
export type { TrainingStage, TrainingStageContext, TrainingStageDecision, TrainingStageOutcome } from './training/training-stage.port';
export {
  TRAINING_PIPELINE_OPTIONS,
  TRAINING_STAGES,
  TrainingBusyError,
  TrainingPipelineService,
  summarize as summarizeTrainingData,
  type ExecuteOptions,
  type PipelineProgress,
  type PipelineResult,
  type TrainingPipelineOptions,
} from './training/training-pipeline.service';

export { createTestDatabase, type TestDatabase } from './testing/test-database.util';
