import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { MODEL_VERSION_KINDS, checkIn, type ModelVersionKind } from './enums';

/** A base model or a LoRA produced by a training run; images name the versions that made them. */
@Entity('model_versions')
@Index('UQ_model_versions_name', ['name'], { unique: true })
@Check('CHK_model_versions_kind', checkIn('kind', MODEL_VERSION_KINDS))
export class ModelVersionEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** Human-readable version name, e.g. `vca-tiny-v1` or `lora-2026-11-26`. */
  @Column('varchar', { length: 200 })
  name!: string;

  @Column('varchar', { length: 8 })
  kind!: ModelVersionKind;

  /** For a LoRA: the base model version it applies to. */
  @Column('uuid', { nullable: true })
  baseVersionId!: string | null;

  /** Location of the weights (directory or file), relative to the model directory. */
  @Column('text')
  path!: string;

  @Column('uuid', { nullable: true })
  trainingRunId!: string | null;

  @Column('jsonb', { default: () => "'{}'" })
  metrics!: Record<string, number>;

  @Column('boolean', { default: false })
  active!: boolean;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
