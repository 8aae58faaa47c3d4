import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { PLATFORMS, checkIn, type Platform } from './enums';

/**
 * A term moderators blocked in one workspace (Discord guild, Slack team, the web chat's `local`):
 * prompts and feedback containing it as whole words are refused. Stored normalised (see
 * `normaliseTerm`), so "Blood-Splatter" and "blood splatter" are one row.
 */
@Entity('prompt_block_terms')
@Index('UQ_prompt_block_terms_workspace_term', ['platform', 'workspaceId', 'term'], { unique: true })
@Check('CHK_prompt_block_terms_platform', checkIn('platform', PLATFORMS))
export class PromptBlockTermEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  @Column('varchar', { length: 16 })
  platform!: Platform;

  @Column('varchar', { length: 200 })
  workspaceId!: string;

  @Column('varchar', { length: 100 })
  term!: string;

  /** Who added it (as the audit log names moderators). */
  @Column('varchar', { length: 200 })
  createdBy!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
