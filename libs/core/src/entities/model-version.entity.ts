import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { MODEL_VERSION_KINDS, checkIn, type ModelVersionKind } from './enums';

/** Free-form facts about a version that are not metrics (rollback bookkeeping, training notes). */
export interface ModelVersionNotes {
  /** Set when `rollback` moved away from this version; such a version is not a rollback target again. */
  rolledBackAt?: string;
  /** The version `rollback` activated instead (null: none, base behaviour). */
  rolledBackTo?: string | null;
  [key: string]: unknown;
}

/**
 * A base model, a LoRA or a reward model produced by a training run; images name the versions
 * that made and scored them. "Active" is per (kind, community): one active version of a kind for
 * each community, and one global one (community null) that communities without their own fall
 * back to.
 */
@Entity('model_versions')
@Index('UQ_model_versions_name', ['name'], { unique: true })
@Index('IDX_model_versions_kind_community', ['kind', 'communityId'])
@Check('CHK_model_versions_kind', checkIn('kind', MODEL_VERSION_KINDS))
export class ModelVersionEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** Human-readable version name, e.g. `vca-tiny-v1` or `lora-2026-11-26`. */
  @Column('varchar', { length: 200 })
  name!: string;

  @Column('varchar', { length: 8 })
  kind!: ModelVersionKind;

  /** `<platform>:<workspace>` (see `communityIdOf`) the version was trained for; null = global. */
  @Column('varchar', { length: 200, nullable: true })
  communityId!: string | null;

  /** For a LoRA: the base model version it applies to. */
  @Column('uuid', { nullable: true })
  baseVersionId!: string | null;

  /**
   * Location of the weights (directory or file): for trained versions relative to the versions
   * directory (VERSIONS_DIR), for a base model the model directory it was loaded from.
   */
  @Column('text')
  path!: string;

  @Column('uuid', { nullable: true })
  trainingRunId!: string | null;

  @Column('jsonb', { default: () => "'{}'" })
  metrics!: Record<string, number>;

  @Column('jsonb', { default: () => "'{}'" })
  notes!: ModelVersionNotes;

  @Column('boolean', { default: false })
  active!: boolean;

  /** When the version was last made active (kept after it is deactivated: rollback order). */
  @Column('timestamptz', { nullable: true })
  activatedAt!: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
