import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { CONVERSATION_OPTIONS, ConversationOptionsSchema, type ConversationOptions } from '../conversation/conversation.types';
import { FeedbackEventEntity } from '../entities/feedback-event.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { parseInput } from '../errors/parse-input.util';
import { isUuid } from '../errors/uuid.util';
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
    // Fast path, outside any transaction: a redelivered event (Discord and Slack retry) is common.
    const seen = await this.findByPlatformEvent(this.dataSource.manager, f.platform, f.platformEventId);
    if (seen) return this.duplicate(seen);

    return this.dataSource.transaction(async (em) => {
      await this.admitRater(em, raterId, f.platform);
      // Lock the round: supersession and the kept image depend on all of its labels.
      const images = await queryRows<{ round_id: string; kept_image_id: string | null }>(
        em,
        `SELECT i.round_id, rd.kept_image_id FROM images i JOIN rounds rd ON rd.id = i.round_id
          WHERE i.id = $1 FOR UPDATE OF rd`,
        [f.imageId],
      );
      const image = images[0];
      if (!image) throw new CoreError(CoreErrorCode.ImageNotFound, 'This image no longer exists.', { imageId: f.imageId });

      // Insert unless the event id is known or the same label is already active. created_at is
      // clock_timestamp(), not now(): read after the round lock, so "latest pick" follows lock order.
      const inserted = await queryRows<FeedbackEventRow>(
        em,
        `INSERT INTO feedback_events (id, rater_id, image_id, round_id, signal, source, platform, platform_event_id, created_at)
         SELECT $1::uuid, $2::varchar, $3::uuid, $4::uuid, $5::varchar, $6::varchar, $7::varchar, $8::varchar, clock_timestamp()
          WHERE NOT EXISTS (SELECT 1 FROM feedback_events
                             WHERE rater_id = $2 AND image_id = $3 AND signal = $5 AND source = $6 AND revoked_at IS NULL)
         ON CONFLICT (platform, platform_event_id) DO NOTHING
         RETURNING ${EVENT_COLUMNS}`,
        [randomUUID(), raterId, f.imageId, image.round_id, f.signal, f.source, f.platform, f.platformEventId],
      );
      const row = inserted[0];
      if (!row) {
        const existing =
          (await this.findByPlatformEvent(em, f.platform, f.platformEventId)) ??
          (await this.findActive(em, raterId, f.imageId, f.signal, f.source));
        if (!existing) throw new Error(`feedback insert for event ${f.platformEventId} neither stored nor matched a label`);
        return this.duplicate(existing);
      }
      const superseded = await this.supersede(em, row.id, raterId, f.imageId, image.round_id, f.signal);
      const keptImageId = f.signal === 'pick' ? await this.refreshKeptImage(em, image.round_id) : image.kept_image_id;
      return { status: 'recorded', event: fromRow(row), superseded, keptImageId };
    });
  }

  /** Revoke the rater's active labels matching (image, signal, source): a removed reaction. */
  async revokeFeedback(input: RevokeFeedbackInput): Promise<FeedbackRevoked> {
    const f = parseInput(RevokeFeedbackSchema, input);
    const raterId = this.raterIdOf(f.platform, f.userId);
    return this.dataSource.transaction(async (em) => {
      const images = await queryRows<{ round_id: string; kept_image_id: string | null }>(
        em,
        `SELECT i.round_id, rd.kept_image_id FROM images i JOIN rounds rd ON rd.id = i.round_id
          WHERE i.id = $1 FOR UPDATE OF rd`,
        [f.imageId],
      );
      const image = images[0];
      if (!image) return { revokedEventIds: [], keptImageId: null, roundId: null };
      const revoked = await queryRows<{ id: string }>(
        em,
        `UPDATE feedback_events SET revoked_at = now()
          WHERE rater_id = $1 AND image_id = $2 AND signal = $3 AND source = $4 AND revoked_at IS NULL
          RETURNING id`,
        [raterId, f.imageId, f.signal, f.source],
      );
      const keptImageId =
        f.signal === 'pick' && revoked.length > 0 ? await this.refreshKeptImage(em, image.round_id) : image.kept_image_id;
      return { revokedEventIds: revoked.map((r) => r.id), keptImageId, roundId: image.round_id };
    });
  }

  /**
   * The signals one user has given (and not revoked) on these images, per image id — to light up
   * their own buttons. Optionally only from one source (the web chat shows its own buttons).
   */
  async activeSignalsOf(
    user: { platform: RecordFeedbackInput['platform']; userId: string },
    imageIds: string[],
    source?: RecordFeedbackInput['source'],
  ): Promise<Map<string, FeedbackEventView['signal'][]>> {
    const mine = new Map<string, FeedbackEventView['signal'][]>();
    const ids = imageIds.filter(isUuid);
    if (ids.length === 0) return mine;
    const rows = await queryRows<{ image_id: string; signal: FeedbackEventView['signal'] }>(
      this.dataSource,
      `SELECT image_id, signal FROM feedback_events
        WHERE rater_id = $1 AND image_id = ANY($2::uuid[]) AND revoked_at IS NULL AND ($3::varchar IS NULL OR source = $3)
        ORDER BY created_at, id`,
      [this.raterIdOf(user.platform, user.userId), ids, source ?? null],
    );
    for (const row of rows) {
      const list = mine.get(row.image_id) ?? [];
      if (!list.includes(row.signal)) list.push(row.signal);
      mine.set(row.image_id, list);
    }
    return mine;
  }

  async listEventsForImage(imageId: string): Promise<FeedbackEventView[]> {
    const events = await this.dataSource
      .getRepository(FeedbackEventEntity)
      .find({ where: { imageId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return events.map(toView);
  }

  private duplicate(existing: FeedbackEventRow): FeedbackRecorded {
    return { status: 'duplicate', event: fromRow(existing), superseded: [], keptImageId: existing.kept_image_id ?? null };
  }

  private async findByPlatformEvent(em: EntityManager, platform: string, platformEventId: string): Promise<FeedbackEventRow | null> {
    const rows = await queryRows<FeedbackEventRow>(
      em,
      `SELECT ${EVENT_COLUMNS_FE}, rd.kept_image_id FROM feedback_events fe JOIN rounds rd ON rd.id = fe.round_id
        WHERE fe.platform = $1 AND fe.platform_event_id = $2`,
      [platform, platformEventId],
    );
    return rows[0] ?? null;
  }

  private async findActive(
    em: EntityManager,
    raterId: string,
    imageId: string,
    signal: string,
    source: string,
  ): Promise<FeedbackEventRow | null> {
    const rows = await queryRows<FeedbackEventRow>(
      em,
      `SELECT ${EVENT_COLUMNS_FE}, rd.kept_image_id FROM feedback_events fe JOIN rounds rd ON rd.id = fe.round_id
        WHERE fe.rater_id = $1 AND fe.image_id = $2 AND fe.signal = $3 AND fe.source = $4 AND fe.revoked_at IS NULL`,
      [raterId, imageId, signal, source],
    );
    return rows[0] ?? null;
  }

  /** Record the rater on first sight; refuse a banned one. */
  private async admitRater(em: EntityManager, raterId: string, platform: string): Promise<void> {
    const sql = `WITH created AS (
                   INSERT INTO raters (id, platform) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING banned)
                 SELECT banned FROM created UNION ALL SELECT banned FROM raters WHERE id = $1`;
    let rows = await queryRows<{ banned: boolean }>(em, sql, [raterId, platform]);
    if (rows.length === 0) rows = await queryRows<{ banned: boolean }>(em, 'SELECT banned FROM raters WHERE id = $1', [raterId]);
    if (rows[0]?.banned) {
      throw new CoreError(CoreErrorCode.RaterBanned, 'Your ratings are not accepted here: a moderator has banned this account.', {
        raterId,
      });
    }
  }

  private async supersede(
    em: EntityManager,
    eventId: string,
    raterId: string,
    imageId: string,
    roundId: string,
    signal: FeedbackRecorded['event']['signal'],
  ): Promise<string[]> {
    let rows: Array<{ id: string }> = [];
    if (signal === 'up' || signal === 'down') {
      rows = await queryRows<{ id: string }>(
        em,
        `UPDATE feedback_events SET revoked_at = now()
          WHERE rater_id = $1 AND image_id = $2 AND signal = $3 AND revoked_at IS NULL RETURNING id`,
        [raterId, imageId, signal === 'up' ? 'down' : 'up'],
      );
    } else if (signal === 'pick') {
      rows = await queryRows<{ id: string }>(
        em,
        `UPDATE feedback_events SET revoked_at = now()
          WHERE rater_id = $1 AND round_id = $2 AND signal = 'pick' AND image_id <> $3 AND id <> $4 AND revoked_at IS NULL
          RETURNING id`,
        [raterId, roundId, imageId, eventId],
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

interface FeedbackEventRow {
  id: string;
  rater_id: string;
  image_id: string;
  round_id: string;
  signal: FeedbackEventView['signal'];
  source: FeedbackEventView['source'];
  platform: FeedbackEventView['platform'];
  platform_event_id: string;
  created_at: Date;
  revoked_at: Date | null;
  moderation_status: FeedbackEventView['moderationStatus'];
  kept_image_id?: string | null;
}

const EVENT_COLUMN_NAMES = [
  'id',
  'rater_id',
  'image_id',
  'round_id',
  'signal',
  'source',
  'platform',
  'platform_event_id',
  'created_at',
  'revoked_at',
  'moderation_status',
];
const EVENT_COLUMNS = EVENT_COLUMN_NAMES.join(', ');
const EVENT_COLUMNS_FE = EVENT_COLUMN_NAMES.map((c) => `fe.${c}`).join(', ');

function fromRow(r: FeedbackEventRow): FeedbackEventView {
  return {
    id: r.id,
    raterId: r.rater_id,
    imageId: r.image_id,
    roundId: r.round_id,
    signal: r.signal,
    source: r.source,
    platform: r.platform,
    platformEventId: r.platform_event_id,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    moderationStatus: r.moderation_status,
  };
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
