import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import {
  FEEDBACK_SIGNALS,
  FEEDBACK_SOURCES,
  MODERATION_STATUSES,
  PLATFORMS,
  checkIn,
  type FeedbackSignal,
  type FeedbackSource,
  type ModerationStatus,
  type Platform,
} from './enums';
import type { ImageEntity } from './image.entity';
import type { RaterEntity } from './rater.entity';

/**
 * One preference label as an event. Never deleted by the feedback path: removing a reaction sets
 * `revokedAt`, so the history of what people said stays auditable.
 */
@Entity('feedback_events')
@Index('UQ_feedback_events_platform_event', ['platform', 'platformEventId'], { unique: true })
@Index('IDX_feedback_events_image', ['imageId'])
@Index('IDX_feedback_events_rater', ['raterId'])
@Index('IDX_feedback_events_round', ['roundId'])
@Check('CHK_feedback_events_signal', checkIn('signal', FEEDBACK_SIGNALS))
@Check('CHK_feedback_events_source', checkIn('source', FEEDBACK_SOURCES))
@Check('CHK_feedback_events_platform', checkIn('platform', PLATFORMS))
@Check('CHK_feedback_events_moderation', checkIn('moderation_status', MODERATION_STATUSES))
export class FeedbackEventEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('varchar', { length: 64 })
  raterId!: string;

  @ManyToOne('RaterEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'rater_id' })
  rater?: RaterEntity;

  @Column('uuid')
  imageId!: string;

  @ManyToOne('ImageEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'image_id' })
  image?: ImageEntity;

  /** Denormalised from the image: labels are read per round (pairs, kept image). */
  @Column('uuid')
  roundId!: string;

  @Column('varchar', { length: 8 })
  signal!: FeedbackSignal;

  @Column('varchar', { length: 16 })
  source!: FeedbackSource;

  @Column('varchar', { length: 16 })
  platform!: Platform;

  /** Id of the platform event (interaction id, reaction event key, web request id). */
  @Column('varchar', { length: 300 })
  platformEventId!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { nullable: true })
  revokedAt!: Date | null;

  @Column('varchar', { length: 16, default: 'pending' })
  moderationStatus!: ModerationStatus;

  @Column('timestamptz', { nullable: true })
  moderatedAt!: Date | null;

  @Column('varchar', { length: 200, nullable: true })
  moderatedBy!: string | null;
}
