import { CoreError, CoreErrorCode } from '../errors/core.error';

/** The rolling window of the daily quota. */
export const QUOTA_WINDOW_SQL = `interval '24 hours'`;

/**
 * Rounds that count against requester $1's quota: every round they asked for in the last 24 h
 * except failed ones (nobody pays for a generation that broke). Served by the index
 * `IDX_rounds_requester_created`.
 */
const COUNTED_ROUNDS_SQL = `FROM rounds WHERE requester_id = $1 AND status <> 'failed' AND created_at > now() - ${QUOTA_WINDOW_SQL}`;

/**
 * When the quota of requester $1 next frees a round, if it is used up: the `limit`-th most recent
 * counted round leaves the window then. `offsetParam` holds `limit - 1`. No row: a round is free.
 * Reads at most `limit` index entries, so it can ride along in the statement that admits the rater.
 */
export function quotaFreesAtSql(offsetParam: string): string {
  return `SELECT created_at + ${QUOTA_WINDOW_SQL} AS frees_at ${COUNTED_ROUNDS_SQL} ORDER BY created_at DESC OFFSET ${offsetParam}::int LIMIT 1`;
}

/** used, the oldest counted round's exit from the window, and (for `limit` $2 > 0) `quotaFreesAtSql`. */
export const QUOTA_USAGE_SQL = `SELECT count(*)::int AS used, min(created_at) + ${QUOTA_WINDOW_SQL} AS oldest_frees_at,
       (${quotaFreesAtSql('greatest($2::int - 1, 0)')}) AS frees_at
  ${COUNTED_ROUNDS_SQL}`;

/** A rater's use of the daily round quota. */
export interface QuotaUsage {
  /** Rounds asked for in the last 24 h (failed ones not counted). */
  used: number;
  /** Rounds allowed per rolling 24 h; null = unlimited. */
  limit: number | null;
  /** null = unlimited. */
  remaining: number | null;
  /**
   * When the next round frees: with the quota used up, when `used` drops below the limit;
   * otherwise when the oldest counted round leaves the window (null when there is none).
   */
  resetsAt: Date | null;
  /** Moderators are not held to the quota. */
  exempt: boolean;
}

export function quotaExceeded(limit: number, freesAt: Date, now = new Date()): CoreError {
  const minutes = Math.max(1, Math.ceil((freesAt.getTime() - now.getTime()) / 60_000));
  const [hours, rest] = [Math.floor(minutes / 60), minutes % 60];
  const wait = hours === 0 ? `${rest} min` : rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
  const at = `${freesAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return new CoreError(
    CoreErrorCode.QuotaExceeded,
    `You have used your ${limit} round${limit === 1 ? '' : 's'} for the last 24 hours; your next round frees at ${at} (in ${wait}).`,
    { limit, resetsAt: freesAt.toISOString() },
  );
}
