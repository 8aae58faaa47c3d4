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
}

@Entity('training_runs')
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

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
