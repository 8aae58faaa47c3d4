/**
 * SQL predicate for a label that counts: not revoked, not rejected by a moderator, and its rater
 * not banned. Expects `fe` = feedback_events and `r` = raters joined on `r.id = fe.rater_id`.
 * Kept in one place so display counts, kept-image choice, exports and training agree.
 */
export const ACTIVE_LABEL_SQL = `fe.revoked_at IS NULL AND fe.moderation_status <> 'rejected' AND r.banned = false`;
