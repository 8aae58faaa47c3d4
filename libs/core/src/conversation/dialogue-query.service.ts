import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { DialogueEntity } from '../entities/dialogue.entity';
import type { Platform } from '../entities/enums';
import { ImageEntity } from '../entities/image.entity';
import { RoundEntity } from '../entities/round.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { isUuid } from '../errors/uuid.util';
import { ACTIVE_LABEL_SQL } from '../feedback/active-labels.sql';
import type { DialogueSummary, DialogueView, FeedbackCounts, RoundView, ThreadOfRound } from './conversation.types';
import { NO_FEEDBACK, toDialogueView, toImageView, toRoundView } from './round-view.mapper';

/** Read side of the conversation: what adapters render (threads, rounds, images, counts). */
@Injectable()
export class DialogueQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async findDialogueByThread(platform: Platform, threadId: string): Promise<DialogueView | null> {
    const dialogue = await this.dataSource.getRepository(DialogueEntity).findOneBy({ platform, threadId });
    return dialogue ? this.viewOf(dialogue) : null;
  }

  /** Whether a platform thread hosts a dialogue (adapters ignore other threads). */
  async hasDialogue(platform: Platform, threadId: string): Promise<boolean> {
    return this.dataSource.getRepository(DialogueEntity).existsBy({ platform, threadId });
  }

  async getDialogue(dialogueId: string): Promise<DialogueView> {
    const dialogue = isUuid(dialogueId) ? await this.dataSource.getRepository(DialogueEntity).findOneBy({ id: dialogueId }) : null;
    if (!dialogue) throw new CoreError(CoreErrorCode.DialogueNotFound, 'This dialogue does not exist.', { dialogueId });
    return this.viewOf(dialogue);
  }

  async getRound(roundId: string): Promise<RoundView> {
    if (!isUuid(roundId)) throw new CoreError(CoreErrorCode.RoundNotFound, 'This round does not exist.', { roundId });
    // The round, its images and their counts side by side: one round trip's latency (results path).
    const [round, images, counts] = await Promise.all([
      this.dataSource.getRepository(RoundEntity).findOneBy({ id: roundId }),
      this.imagesOf([roundId]),
      this.feedbackCountsOfRounds([roundId]),
    ]);
    if (!round) throw new CoreError(CoreErrorCode.RoundNotFound, 'This round does not exist.', { roundId });
    const names = await this.rewardVersionNames(images);
    return toRoundView(round, images.map((i) => toImageView(i, counts.get(i.id))), rewardVersionOf(images, names));
  }

  /**
   * Names of the reward versions that scored these images (one query, none when no image was
   * scored by a trained version), so a round can say "scored by <name>".
   */
  private async rewardVersionNames(images: ImageEntity[]): Promise<Map<string, string>> {
    const ids = [...new Set(images.map(rewardVersionIdOf).filter((id): id is string => id !== null))];
    if (ids.length === 0) return new Map();
    const rows: Array<{ id: string; name: string }> = await this.dataSource.query('SELECT id, name FROM model_versions WHERE id = ANY($1::uuid[])', [ids]);
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** Where a round's updates go: its dialogue's platform thread (one query; null if deleted). */
  async threadOfRound(roundId: string): Promise<ThreadOfRound | null> {
    if (!isUuid(roundId)) return null;
    const rows: Array<ThreadOfRound> = await this.dataSource.query(
      `SELECT d.id AS "dialogueId", d.platform, d.workspace_id AS "workspaceId", d.channel_id AS "channelId",
              d.thread_id AS "threadId", r.index AS "roundIndex"
         FROM rounds r JOIN dialogues d ON d.id = r.dialogue_id
        WHERE r.id = $1`,
      [roundId],
    );
    return rows[0] ?? null;
  }

  /** Newest dialogues first, optionally of one platform (the web chat lists its threads). */
  async listDialogues(opts: { platform?: Platform; limit?: number; offset?: number } = {}): Promise<DialogueSummary[]> {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
    const rows: Array<{
      id: string;
      platform: Platform;
      thread_id: string;
      channel_id: string;
      owner_id: string;
      created_at: Date;
      round_count: string;
      last_prompt: string | null;
    }> = await this.dataSource.query(
      `SELECT d.id, d.platform, d.thread_id, d.channel_id, d.owner_id, d.created_at,
              (SELECT count(*) FROM rounds r WHERE r.dialogue_id = d.id) AS round_count,
              (SELECT r.refined_prompt FROM rounds r WHERE r.dialogue_id = d.id ORDER BY r.index DESC LIMIT 1) AS last_prompt
         FROM dialogues d
        WHERE ($1::varchar IS NULL OR d.platform = $1)
        ORDER BY d.created_at DESC, d.id
        LIMIT $2 OFFSET $3`,
      [opts.platform ?? null, limit, opts.offset ?? 0],
    );
    return rows.map((r) => ({
      id: r.id,
      platform: r.platform,
      threadId: r.thread_id,
      channelId: r.channel_id,
      ownerId: r.owner_id,
      createdAt: r.created_at,
      roundCount: Number(r.round_count),
      lastPrompt: r.last_prompt,
    }));
  }

  /** Active label counts per image id (see ACTIVE_LABEL_SQL). */
  async feedbackCounts(imageIds: string[]): Promise<Map<string, FeedbackCounts>> {
    if (imageIds.length === 0) return new Map();
    return this.countsWhere('fe.image_id = ANY($1::uuid[])', imageIds);
  }

  /** Active label counts of every image of these rounds, without reading the images first. */
  private feedbackCountsOfRounds(roundIds: string[]): Promise<Map<string, FeedbackCounts>> {
    return this.countsWhere('fe.image_id IN (SELECT i.id FROM images i WHERE i.round_id = ANY($1::uuid[]))', roundIds);
  }

  private imagesOf(roundIds: string[]): Promise<ImageEntity[]> {
    return this.dataSource.getRepository(ImageEntity).find({ where: { roundId: In(roundIds) }, order: { candidateIndex: 'ASC' } });
  }

  private async countsWhere(condition: string, ids: string[]): Promise<Map<string, FeedbackCounts>> {
    const counts = new Map<string, FeedbackCounts>();
    const rows: Array<{ image_id: string; signal: keyof FeedbackCounts; n: string }> = await this.dataSource.query(
      `SELECT fe.image_id, fe.signal, count(DISTINCT fe.rater_id) AS n
         FROM feedback_events fe JOIN raters r ON r.id = fe.rater_id
        WHERE ${condition} AND ${ACTIVE_LABEL_SQL}
        GROUP BY fe.image_id, fe.signal`,
      [ids],
    );
    for (const row of rows) {
      const c = counts.get(row.image_id) ?? { ...NO_FEEDBACK };
      c[row.signal] = Number(row.n);
      counts.set(row.image_id, c);
    }
    return counts;
  }

  async roundViews(rounds: RoundEntity[]): Promise<RoundView[]> {
    if (rounds.length === 0) return [];
    const roundIds = rounds.map((r) => r.id);
    const [images, counts] = await Promise.all([this.imagesOf(roundIds), this.feedbackCountsOfRounds(roundIds)]);
    const names = await this.rewardVersionNames(images);
    return rounds.map((round) => {
      const own = images.filter((i) => i.roundId === round.id);
      return toRoundView(
        round,
        own.map((i) => toImageView(i, counts.get(i.id))),
        rewardVersionOf(own, names),
      );
    });
  }

  private async viewOf(dialogue: DialogueEntity): Promise<DialogueView> {
    const rounds = await this.dataSource
      .getRepository(RoundEntity)
      .find({ where: { dialogueId: dialogue.id }, order: { index: 'ASC' } });
    return toDialogueView(dialogue, await this.roundViews(rounds));
  }
}

function rewardVersionIdOf(image: ImageEntity): string | null {
  return image.rewardVersionId ?? null;
}

/** The trained reward version that scored a round's images (they share one), if any. */
function rewardVersionOf(images: ImageEntity[], names: ReadonlyMap<string, string>): RoundView['rewardVersion'] {
  const id = images.map(rewardVersionIdOf).find((v): v is string => v !== null);
  return id ? { id, name: names.get(id) ?? id.slice(0, 8) } : null;
}
