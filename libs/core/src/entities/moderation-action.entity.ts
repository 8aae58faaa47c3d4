import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { MODERATION_ACTION_KINDS, checkIn, type ModerationActionKind } from './enums';

/** Audit log: one row per moderation action, append-only. */
@Entity('moderation_actions')
@Index('IDX_moderation_actions_created', ['createdAt'])
@Check('CHK_moderation_actions_action', checkIn('action', MODERATION_ACTION_KINDS))
export class ModerationActionEntity {
  /** bigserial: the log is append-only and its order matters. */
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  /** Who did it (a moderator's pseudonymous id or an operator name). */
  @Column('varchar', { length: 200 })
  moderatorId!: string;

  @Column('varchar', { length: 32 })
  action!: ModerationActionKind;

  /** `feedback_event`, `rater`, `image`, `dialogue` or `export`. */
  @Column('varchar', { length: 32 })
  targetType!: string;

  @Column('varchar', { length: 200, nullable: true })
  targetId!: string | null;

  @Column('text', { nullable: true })
  reason!: string | null;

  @Column('jsonb', { default: () => "'{}'" })
  details!: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
