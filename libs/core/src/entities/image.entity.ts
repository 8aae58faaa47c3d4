import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from './column-transformers';
import type { RoundEntity } from './round.entity';

/** One generated candidate with everything needed to reproduce it. */
@Entity('images')
@Index('UQ_images_round_candidate', ['roundId', 'candidateIndex'], { unique: true })
export class ImageEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid')
  roundId!: string;

  @ManyToOne('RoundEntity', (r: RoundEntity) => r.images, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'round_id' })
  round?: RoundEntity;

  @Column('int')
  candidateIndex!: number;

  /** uint32 does not fit int4. */
  @Column('bigint', { transformer: bigintToNumber })
  seed!: number;

  @Column('int')
  steps!: number;

  /** img2img strength; 1 for text-to-image (the whole schedule is run). */
  @Column('double precision')
  strength!: number;

  @Column('double precision')
  guidanceScale!: number;

  @Column('varchar', { length: 200 })
  modelVersion!: string;

  @Column('jsonb', { default: () => "'[]'" })
  loraVersions!: string[];

  /** The base model version (model_versions, kind `base`) that generated the image, when known. */
  @Column('uuid', { nullable: true })
  modelVersionId!: string | null;

  /** The reward model version (kind `reward`) that scored the image; null = plain cosine score. */
  @Column('uuid', { nullable: true })
  rewardVersionId!: string | null;

  /** sha256 of the PNG bytes, hex. */
  @Column('char', { length: 64 })
  @Index('IDX_images_content_hash')
  contentHash!: string;

  /** Content-addressed storage key, `<sha256>.png`. */
  @Column('varchar', { length: 200 })
  storageKey!: string;

  @Column('int')
  width!: number;

  @Column('int')
  height!: number;

  /** Scores by name: `{ "reward": r, "cosine": c }` (reward model and plain cosine), filled in later. */
  @Column('jsonb', { default: () => "'{}'" })
  scores!: Record<string, number>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
