import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, OneToMany, PrimaryColumn } from 'typeorm';
import { ROUND_MODES, ROUND_ORIGINS, ROUND_STATUSES, checkIn, type RoundMode, type RoundOrigin, type RoundStatus } from './enums';
import type { DialogueEntity } from './dialogue.entity';
import type { ImageEntity } from './image.entity';

/** One planned candidate of a round: the job payload is rebuilt from these if it must be re-enqueued. */
export interface CandidatePlan {
  seed: number;
  strength: number;
}

/** What the prompt refiner did, kept so users (and moderators) can see what the bot understood. */
export interface RefinementRecord {
  source: 'initial' | 'rules' | 'llm';
  edits: Array<{ kind: string; from?: string; to?: string }>;
  fallbackReason?: string;
}

/** Round t of a dialogue: the user's text, the refined prompt p_t and its N candidates. */
@Entity('rounds')
@Index('UQ_rounds_dialogue_index', ['dialogueId', 'index'], { unique: true })
@Check('CHK_rounds_status', checkIn('status', ROUND_STATUSES))
@Check('CHK_rounds_mode', checkIn('mode', ROUND_MODES))
@Check('CHK_rounds_origin', checkIn('origin', ROUND_ORIGINS))
// A retried button click carries the same platform interaction id: at most one round per key.
@Index('UQ_rounds_dialogue_request_key', ['dialogueId', 'requestKey'], { unique: true })
// The daily quota reads a requester's most recent rounds.
@Index('IDX_rounds_requester_created', ['requesterId', 'createdAt'])
export class RoundEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid')
  dialogueId!: string;

  @ManyToOne('DialogueEntity', (d: DialogueEntity) => d.rounds, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'dialogue_id' })
  dialogue?: DialogueEntity;

  /** 1-based round number t. */
  @Column('int')
  index!: number;

  /** Pseudonymous id of the user whose message started this round. */
  @Column('varchar', { length: 64 })
  requesterId!: string;

  /** The message as written: the initial prompt (t = 1) or feedback (t > 1). */
  @Column('text')
  userText!: string;

  @Column('text')
  refinedPrompt!: string;

  @Column('text', { default: '' })
  negativePrompt!: string;

  @Column('jsonb')
  refinement!: RefinementRecord;

  @Column('varchar', { length: 16 })
  mode!: RoundMode;

  /** A message (feedback or the prompt), a reroll of `sourceRoundId`, or a variation of `parentImageId`. */
  @Column('varchar', { length: 16, default: 'message' })
  origin!: RoundOrigin;

  /** The round a reroll repeats (or whose candidate a variation starts from); null for messages. */
  @Column('uuid', { nullable: true })
  sourceRoundId!: string | null;

  @ManyToOne('RoundEntity', { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'source_round_id' })
  sourceRound?: RoundEntity | null;

  /**
   * Idempotency key of a button request (`<kind>:<platform interaction id>`), unique per dialogue:
   * a redelivered click finds the round it already made. Null for messages.
   */
  @Column('varchar', { length: 240, nullable: true })
  requestKey!: string | null;

  /** Image kept from round t-1 that this round starts from (img2img); null in round 1. */
  @Column('uuid', { nullable: true })
  parentImageId!: string | null;

  @ManyToOne('ImageEntity', { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'parent_image_id' })
  parentImage?: ImageEntity | null;

  /** The candidate picked in this round (latest active pick); the next round starts from it. */
  @Column('uuid', { nullable: true })
  keptImageId!: string | null;

  @ManyToOne('ImageEntity', { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'kept_image_id' })
  keptImage?: ImageEntity | null;

  @Column('varchar', { length: 16, default: 'queued' })
  status!: RoundStatus;

  @Column('text', { nullable: true })
  failureReason!: string | null;

  @Column('jsonb')
  candidates!: CandidatePlan[];

  @Column('int')
  steps!: number;

  @Column('double precision')
  guidanceScale!: number;

  @Column('varchar', { length: 32, default: 'ddim' })
  scheduler!: 'ddim' | 'euler_a' | 'dpmpp_2m';

  @Column('jsonb', { default: () => "'[]'" })
  loras!: Array<{ versionId: string; scale: number }>;

  /** Set once the adapter has posted the result in the thread (so a restart does not post twice). */
  @Column('timestamptz', { nullable: true })
  postedAt!: Date | null;

  /** Platform message id of the posted result, if the adapter has one. */
  @Column('varchar', { length: 200, nullable: true })
  postedMessageId!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { nullable: true })
  completedAt!: Date | null;

  @OneToMany('ImageEntity', (image: ImageEntity) => image.round)
  images?: ImageEntity[];
}
