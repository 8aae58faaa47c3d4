import { Check, Column, CreateDateColumn, Entity, Index, OneToMany, PrimaryColumn } from 'typeorm';
import { PLATFORMS, checkIn, type Platform } from './enums';
import type { RoundEntity } from './round.entity';

/** One conversation: a chat thread (Discord thread, Slack thread_ts, web-chat thread). */
@Entity('dialogues')
@Index('UQ_dialogues_platform_thread', ['platform', 'threadId'], { unique: true })
@Check('CHK_dialogues_platform', checkIn('platform', PLATFORMS))
export class DialogueEntity {
  /** uuid chosen by the application, so a round can be enqueued before the row is read back. */
  @PrimaryColumn('uuid')
  id!: string;

  @Column('varchar', { length: 16 })
  platform!: Platform;

  /** Discord guild id, Slack team id, or `local` for the web chat. */
  @Column('varchar', { length: 200 })
  workspaceId!: string;

  @Column('varchar', { length: 200 })
  channelId!: string;

  @Column('varchar', { length: 200 })
  threadId!: string;

  /** Pseudonymous rater id of the user who started the dialogue (see `pseudonymousId`). */
  @Column('varchar', { length: 64 })
  ownerId!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @OneToMany('RoundEntity', (round: RoundEntity) => round.dialogue)
  rounds?: RoundEntity[];
}
