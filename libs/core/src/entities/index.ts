import { DialogueEntity } from './dialogue.entity';
import { FeedbackEventEntity } from './feedback-event.entity';
import { ImageEntity } from './image.entity';
import { ModelVersionEntity } from './model-version.entity';
import { ModerationActionEntity } from './moderation-action.entity';
import { PromptBlockTermEntity } from './prompt-block-term.entity';
import { RaterEntity } from './rater.entity';
import { RoundEntity } from './round.entity';
import { TrainingRunEntity } from './training-run.entity';

export * from './enums';
export { DialogueEntity, FeedbackEventEntity, ImageEntity, ModelVersionEntity, ModerationActionEntity, PromptBlockTermEntity, RaterEntity, RoundEntity, TrainingRunEntity };
export type { CandidatePlan, RefinementRecord } from './round.entity';
export type { ModelVersionNotes } from './model-version.entity';
export type {
  TrainingDataSummary,
  TrainingRunOptions,
  TrainingRunProgress,
  TrainingRunStages,
  TrainingStageRecord,
} from './training-run.entity';

export const CORE_ENTITIES = [
  DialogueEntity,
  RoundEntity,
  ImageEntity,
  RaterEntity,
  FeedbackEventEntity,
  ModerationActionEntity,
  ModelVersionEntity,
  TrainingRunEntity,
  PromptBlockTermEntity,
];
