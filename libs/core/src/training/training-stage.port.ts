import type { CuratedData } from '../curation/curation.types';

/**
 * One stage of a training run (docs/learning-loop.md): the reward model today, the LoRA
 * fine-tune next. The pipeline runs its stages in order on one snapshot of the curated data and
 * records each outcome on the run; a stage only decides whether what it trained is promoted.
 */
export interface TrainingStage {
  /** Stable name, the key of the stage's record on the run (`reward`, `lora`). */
  readonly name: string;
  run(ctx: TrainingStageContext): Promise<TrainingStageOutcome>;
}

export interface TrainingStageContext {
  runId: string;
  /** `discord:<guild>`, `slack:<team>`, `web:local`; null for the global model. */
  communityId: string | null;
  /** Labels created up to this instant (the run's cut-off). */
  cutoff: Date;
  /** The curated data snapshot of this run (and community), loaded once for every stage. */
  data: CuratedData;
  /** Directory of the image store, to read candidates' PNGs. */
  imageDir: string;
  /** A folder for this run, stage and community that survives a restart (checkpoints). */
  workDir: string;
  /** Outcomes of the stages that ran before this one in this run. */
  previous: Readonly<Record<string, TrainingStageOutcome>>;
  /** Reports progress in [0, 1] of this stage to the run and the job. */
  progress(fraction: number, message: string): Promise<void>;
}

export type TrainingStageDecision = 'promoted' | 'kept' | 'skipped';

export interface TrainingStageOutcome {
  decision: TrainingStageDecision;
  /** Why, in one sentence a moderator can act on ("312 pairs < 500 required", …). */
  reason: string;
  metrics: Record<string, number>;
  /** The model version the stage registered (promoted or not), if any. */
  producedVersionId: string | null;
  /** Wall-clock seconds the stage took. */
  seconds: number;
}
