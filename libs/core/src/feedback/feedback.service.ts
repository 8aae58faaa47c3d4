import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { CONVERSATION_OPTIONS, ConversationOptionsSchema, type ConversationOptions } from '../conversation/conversation.types';
import { FeedbackEventEntity } from '../entities/feedback-event.entity';
import { ImageEntity } from '../entities/image.entity';
import { RaterEntity } from '../entities/rater.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { parseInput } from '../errors/parse-input.util';
import { queryRows } from '../database/query-rows.util';
import { ACTIVE_LABEL_SQL } from './active-labels.sql';
import {
  RecordFeedbackSchema,
  RevokeFeedbackSchema,
  type FeedbackEventView,
  type FeedbackRecorded,
  type FeedbackRevoked,
  type RecordFeedbackInput,
  type RevokeFeedbackInput,
} from './feedback.types';
import { pseudonymousId } from './pseudonymous-id.util';

/**
 * Thumbs, picks and ties as label events. Rules:
 * - a platform event id seen before is a no-op, and so is a second active label with the same
 *   (rater, image, signal, source);
 * - up and down on one image exclude each other for a rater (the newer revokes the older);
 * - a rater has at most one active pick per round; the latest active pick of a round (by anyone)
 *   is the round's kept image, which the next round starts from;
 * - removing a reaction revokes (sets `revoked_at`), never deletes;
 * - a banned rater's events are refused.
 */
@Injectable()
export class FeedbackService {
  private readonly salt: string;

  constructor(
    private readonly dataSource: DataSource,
    @Optional() @Inject(CONVERSATION_OPTIONS) options: ConversationOptions = {},
  ) {
    this.salt = ConversationOptionsSchema.parse(options ?? {}).raterIdSalt;
  }

  raterIdOf(platform: RecordFeedbackInput['platform'], userId: string): string {
    return pseudonymousId(platform, userId, this.salt);
  }

  async recordFeedback(input: RecordFeedbackInput): Promise<FeedbackRecorded> {
    const f = parseInput(RecordFeedbackSchema, input);
    const raterId = this.raterIdOf(f.platform, f.userId);
    return this.dataSource.transaction(async (em) => {
      const repo = em.getRepository(FeedbackEventEntity);
      const seen = await repo.findOneBy({ platform: f.platform, platformEventId: f.platformEventId });
      if (seen) return this.duplicate(em, seen);

      await em.query(`INSERT INTO raters (id, platform) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [raterId, f.platform]);
      const rater = await em.getRepository(RaterEntity).findOneByOrFail({ id: raterId });
      if (rater.banned) {
        throw new CoreError(CoreErrorCode.RaterBanned, 'Your ratings are not accepted here: a moderator has banned this account.', {
          raterId,
        });
      }
      const image = await em.getRepository(ImageEntity).findOneBy({ id: f.imageId });
      if (!image) throw new CoreError(CoreErrorCode.ImageNotFound, 'This image no longer exists.', { imageId: f.imageId });
      // One writer per round at a time: supersession and the kept image depend on the round's labels.
      await em.query('SELECT id FROM rounds WHERE id = $1 FOR UPDATE', [image.roundId]);

      const same = await repo
        .createQueryBuilder('fe')
        .where('fe.rater_id = :raterId AND fe.image_id = :imageId AND fe.signal = :signal AND fe.source = :source', {
          raterId,
          imageId: image.id,
          signal: f.signal,
          source: f.source,
        })
        .andWhere('fe.revoked_at IS NULL')
        .getOne();
      if (same) return this.duplicate(em, same);

      const inserted: Array<{ id: string }> = await em.query(
        `INSERT INTO feedback_events (id, rater_id, image_id, round_id, signal, source, platform, platform_event_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (platform, platform_event_id) DO NOTHING RETURNING id`,
        [randomUUID(), raterId, image.id, image.roundId, f.signal, f.source, f.platform, f.platformEventId],
      );
      if (inserted.length === 0) {
        // A concurrent delivery of the same event won the insert.
        return this.duplicate(em, await repo.findOneByOrFail({ platform: f.platform, platformEventId: f.platformEventId }));
      }
      const eventId = inserted[0]!.id;
      const superseded = await this.supersede(em, eventId, raterId, image, f.signal);
      const keptImageId = await this.refreshKeptImage(em, image.roundId);
      return { status: 'recorded', event: toView(await repo.findOneByOrFail({ id: eventId })), superseded, keptImageId };
    });
  }

  /** Revoke the rater's active labels matching (image, signal, source): a removed reaction. */
  async revokeFeedback(input: RevokeFeedbackInput): Promise<FeedbackRevoked> {
    const f = parseInput(RevokeFeedbackSchema, input);
    const raterId = this.raterIdOf(f.platform, f.userId);
    return this.dataSource.transaction(async (em) => {
      const image = await em.getRepository(ImageEntity).findOneBy({ id: f.imageId });
      if (!image) return { revokedEventIds: [], keptImageId: null };
      await em.query('SELECT id FROM rounds WHERE id = $1 FOR UPDATE', [image.roundId]);
      const revoked = await queryRows<{ id: string }>(
        em,
        `UPDATE feedback_events SET revoked_at = now()
          WHERE rater_id = $1 AND image_id = $2 AND signal = $3 AND source = $4 AND revoked_at IS NULL
          RETURNING id`,
        [raterId, image.id, f.signal, f.source],
      );
      const keptImageId = await this.refreshKeptImage(em, image.roundId);
      return { revokedEventIds: revoked.map((r) => r.id), keptImageId };
    });
  }

  async listEventsForImage(imageId: string): Promise<FeedbackEventView[]> {
    const events = await this.dataSource
      .getRepository(FeedbackEventEntity)
      .find({ where: { imageId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return events.map(toView);
  }

  private async duplicate(em: EntityManager, event: FeedbackEventEntity): Promise<FeedbackRecorded> {
    const rows: Array<{ kept_image_id: string | null }> = await em.query('SELECT kept_image_id FROM rounds WHERE id = $1', [
      event.roundId,
    ]);
    return { status: 'duplicate', event: toView(event), superseded: [], keptImageId: rows[0]?.kept_image_id ?? null };
  }

  private async supersede(
    em: EntityManager,
    eventId: string,
    raterId: string,
    image: ImageEntity,
    signal: FeedbackRecorded['event']['signal'],
  ): Promise<string[]> {
    let rows: Array<{ id: string }> = [];
    if (signal === 'up' || signal === 'down') {
      rows = await queryRows<{ id: string }>(
        em,
        `UPDATE feedback_events SET revoked_at = now()
          WHERE rater_id = $1 AND image_id = $2 AND signal = $3 AND revoked_at IS NULL RETURNING id`,
        [raterId, image.id, signal === 'up' ? 'down' : 'up'],
      );
    } else if (signal === 'pick') {
      rows = await queryRows<{ id: string }>(
        em,
        `UPDATE feedback_events SET revoked_at = now()
          WHERE rater_id = $1 AND round_id = $2 AND signal = 'pick' AND image_id <> $3 AND id <> $4 AND revoked_at IS NULL
          RETURNING id`,
        [raterId, image.roundId, image.id, eventId],
      );
    }
    return rows.map((r) => r.id);
  }

  /** kept image = the round's latest active pick (null if none). */
  private async refreshKeptImage(em: EntityManager, roundId: string): Promise<string | null> {
    const rows = await queryRows<{ kept_image_id: string | null }>(
      em,
      `UPDATE rounds SET kept_image_id = (
           SELECT fe.image_id FROM feedback_events fe JOIN raters r ON r.id = fe.rater_id
            WHERE fe.round_id = $1 AND fe.signal = 'pick' AND ${ACTIVE_LABEL_SQL}
            ORDER BY fe.created_at DESC, fe.id DESC LIMIT 1)
        WHERE id = $1 RETURNING kept_image_id`,
      [roundId],
    );
    return rows[0]?.kept_image_id ?? null;
  }
}

export function toView(e: FeedbackEventEntity): FeedbackEventView {
  return {
    id: e.id,
    raterId: e.raterId,
    imageId: e.imageId,
    roundId: e.roundId,
    signal: e.signal,
    source: e.source,
    platform: e.platform,
    platformEventId: e.platformEventId,
    createdAt: e.createdAt,
    revokedAt: e.revokedAt,
    moderationStatus: e.moderationStatus,
  };
}
