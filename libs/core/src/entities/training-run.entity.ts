import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import {
  TRAINING_RUN_STATUSES,
  TRAINING_RUN_TRIGGERS,
  checkIn,
  type TrainingRunStatus,
  type TrainingRunTrigger,
} from './enums';

/** Counts of curated data a run uses (or would use). */
export interface TrainingDataSummary {
  pairs: number;
  ties: number;
  labels: number;
  raters: number;
  dialogues: number;
  rounds: number;
  /** Preference pairs (ties included) per community (`<platform>:<workspace>`), when known. */
  communities?: Record<string, number>;
}

/** What a run was asked to do (kept so a resumed attempt does the same). */
export interface TrainingRunOptions {
  /** Train only on moderator-approved labels. */
  requireApproval?: boolean;
  /** Train this community only (no global model); absent = global plus every large community. */
  communityId?: string | null;
}

/** How one stage ended for one community (the run's `stages[stage][community | 'global']`). */
export interface TrainingStageRecord {
  decision: 'promoted' | 'kept' | 'skipped' | 'failed';
  reason: string;
  metrics: Record<string, number>;
  producedVersionId: string | null;
  seconds: number;
  startedAt: string;
  finishedAt: string;
  /** The error message when the stage threw (decision `failed`). */
  error?: string;
}

/** `stages[stageName][communityKey]`; the community key is the community id or `global`. */
export type TrainingRunStages = Record<string, Record<string, TrainingStageRecord>>;

/** The latest progress report of a running run. */
export interface TrainingRunProgress {
  stage?: string;
  communityId?: string | null;
  /** Fraction of the whole run in [0, 1]. */
  fraction?: number;
  message?: string;
  /** ISO time of the report. */
  at?: string;
}

@Entity('training_runs')
@Index('IDX_training_runs_job', ['jobId'])
// One run per schedule firing: a retried training job finds its run instead of adding another.
@Index('UQ_training_runs_trigger_scheduled', ['trigger', 'scheduledFor'], { unique: true })
@Check('CHK_training_runs_status', checkIn('status', TRAINING_RUN_STATUSES))
@Check('CHK_training_runs_trigger', checkIn('trigger', TRAINING_RUN_TRIGGERS))
export class TrainingRunEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('varchar', { length: 16 })
  status!: TrainingRunStatus;

  @Column('varchar', { length: 16 })
  trigger!: TrainingRunTrigger;

  @Column('timestamptz')
  scheduledFor!: Date;

  @Column('jsonb')
  dataSummary!: TrainingDataSummary;

  /** Labels created up to this instant are in the run's data set (reproducible selection). */
  @Column('timestamptz')
  dataCutoff!: Date;

  @Column('uuid', { nullable: true })
  baseModelVersionId!: string | null;

  @Column('uuid', { nullable: true })
  producedModelVersionId!: string | null;

  @Column('timestamptz', { nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { nullable: true })
  finishedAt!: Date | null;

  @Column('text', { nullable: true })
  error!: string | null;

  /** Per stage and community: decision, reason, metrics, produced version, timing. */
  @Column('jsonb', { default: () => "'{}'" })
  stages!: TrainingRunStages;

  @Column('jsonb', { default: () => "'{}'" })
  progress!: TrainingRunProgress;

  /** A short human summary written when the run ends. */
  @Column('text', { nullable: true })
  report!: string | null;

  /** Attempts that started the run (a resumed run after a killed worker counts again). */
  @Column('int', { default: 0 })
  attempts!: number;

  /** Last sign of life of the attempt that runs it (progress, stage records). */
  @Column('timestamptz', { nullable: true })
  heartbeatAt!: Date | null;

  /** The queue job that runs it (to mark the run failed when the job fails for good). */
  @Column('varchar', { length: 200, nullable: true })
  jobId!: string | null;

  @Column('jsonb', { default: () => "'{}'" })
  options!: TrainingRunOptions;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
