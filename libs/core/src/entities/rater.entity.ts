import { Check, Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { PLATFORMS, checkIn, type Platform } from './enums';

/** A person who gives feedback, known only by a pseudonymous id (hash of platform + user id). */
@Entity('raters')
@Check('CHK_raters_platform', checkIn('platform', PLATFORMS))
export class RaterEntity {
  /** sha256 hex of `platform:userId` (see `pseudonymousId`). */
  @PrimaryColumn('varchar', { length: 64 })
  id!: string;

  @Column('varchar', { length: 16 })
  platform!: Platform;

  @Column('boolean', { default: false })
  banned!: boolean;

  @Column('text', { nullable: true })
  bannedReason!: string | null;

  @Column('timestamptz', { nullable: true })
  bannedAt!: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
