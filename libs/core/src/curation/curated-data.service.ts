import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { FeedbackSignal, FeedbackSource, ModerationStatus } from '../entities/enums';
import { parseInput } from '../errors/parse-input.util';
import { ACTIVE_LABEL_SQL } from '../feedback/active-labels.sql';
import { CurationOptionsSchema, type CuratedData, type CuratedRound, type CurationOptions, type PreferencePair } from './curation.types';
import { buildPreferencePairs } from './preference-pairs.util';

export interface CuratedDataSummary {
  labels: number;
  pairs: number;
  ties: number;
  raters: number;
  dialogues: number;
  rounds: number;
}

/**
 * The one definition of "curated data" shared by exports and training: labels that are not
 * revoked, not rejected (optionally: approved), from raters who are not banned.
 */
@Injectable()
export class CuratedDataService {
  constructor(private readonly dataSource: DataSource) {}

  async load(options: CurationOptions = {}): Promise<CuratedData> {
    const o = parseInput(CurationOptionsSchema, options);
    const labels: Array<{
      event_id: string;
      rater_id: string;
      image_id: string;
      round_id: string;
      dialogue_id: string;
      round_index: number;
      candidate_index: number;
      signal: FeedbackSignal;
      source: FeedbackSource;
      moderation_status: ModerationStatus;
      created_at: Date;
    }> = await this.dataSource.query(
      `SELECT fe.id AS event_id, fe.rater_id, fe.image_id, fe.round_id, rd.dialogue_id, rd.index AS round_index,
              i.candidate_index, fe.signal, fe.source, fe.moderation_status, fe.created_at
         FROM feedback_events fe
         JOIN raters r ON r.id = fe.rater_id
         JOIN images i ON i.id = fe.image_id
         JOIN rounds rd ON rd.id = fe.round_id
         JOIN dialogues d ON d.id = rd.dialogue_id
        WHERE ${ACTIVE_LABEL_SQL}
          AND ($1::boolean = false OR fe.moderation_status = 'approved')
          AND ($2::timestamptz IS NULL OR fe.created_at <= $2)
          AND ($3::text IS NULL OR (d.platform || ':' || d.workspace_id) = $3)
        ORDER BY fe.created_at, fe.id`,
      [o.requireApproval, o.cutoff ?? null, o.communityId ?? null],
    );
    const roundIds = [...new Set(labels.map((l) => l.round_id))];
    const rounds = new Map<string, CuratedRound>();
    if (roundIds.length > 0) {
      const rows: Array<{
        round_id: string;
        dialogue_id: string;
        round_index: number;
        caption: string;
        image_id: string;
        candidate_index: number;
        storage_key: string;
        community_id: string;
      }> = await this.dataSource.query(
        `SELECT rd.id AS round_id, rd.dialogue_id, rd.index AS round_index, rd.refined_prompt AS caption,
                i.id AS image_id, i.candidate_index, i.storage_key, d.platform || ':' || d.workspace_id AS community_id
           FROM rounds rd JOIN images i ON i.round_id = rd.id JOIN dialogues d ON d.id = rd.dialogue_id
          WHERE rd.id = ANY($1::uuid[])
          ORDER BY rd.id, i.candidate_index`,
        [roundIds],
      );
      for (const row of rows) {
        let round = rounds.get(row.round_id);
        if (!round) {
          round = {
            roundId: row.round_id,
            dialogueId: row.dialogue_id,
            communityId: row.community_id,
            roundIndex: row.round_index,
            caption: row.caption,
            images: [],
          };
          rounds.set(row.round_id, round);
        }
        round.images.push({ imageId: row.image_id, roundId: row.round_id, candidateIndex: row.candidate_index, storageKey: row.storage_key });
      }
    }
    return {
      labels: labels.map((l) => ({
        eventId: l.event_id,
        raterId: l.rater_id,
        imageId: l.image_id,
        roundId: l.round_id,
        dialogueId: l.dialogue_id,
        roundIndex: l.round_index,
        candidateIndex: l.candidate_index,
        signal: l.signal,
        source: l.source,
        moderationStatus: l.moderation_status,
        createdAt: l.created_at,
      })),
      rounds,
    };
  }

  /** Counts of what an export or a training run would use. */
  async summarize(options: CurationOptions = {}): Promise<CuratedDataSummary> {
    const data = await this.load(options);
    // Paths are irrelevant for counting.
    return summarizePairs(data, buildPreferencePairs(data, '.'));
  }
}

/** The counts of a curated snapshot and its pairs (ties apart, as exports count them). */
export function summarizePairs(data: CuratedData, pairs: readonly PreferencePair[]): CuratedDataSummary {
  return {
    labels: data.labels.length,
    pairs: pairs.filter((p) => p.origin !== 'tie').length,
    ties: pairs.filter((p) => p.origin === 'tie').length,
    raters: new Set(pairs.map((p) => p.user_id)).size,
    dialogues: new Set(pairs.map((p) => p.dialogue_id)).size,
    rounds: new Set(pairs.map((p) => p.round_id)).size,
  };
}
