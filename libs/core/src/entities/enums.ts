/**
 * Value sets stored as varchar + CHECK constraints rather than Postgres enum types: TypeORM
 * qualifies enum types with a schema name, which would break one-schema-per-test isolation and
 * makes adding a value a type migration.
 */
export const PLATFORMS = ['discord', 'slack', 'web'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const ROUND_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type RoundStatus = (typeof ROUND_STATUSES)[number];

export const ROUND_MODES = ['txt2img', 'img2img'] as const;
export type RoundMode = (typeof ROUND_MODES)[number];

/** How a round was asked for: a message in the thread, a reroll button, a vary button. */
export const ROUND_ORIGINS = ['message', 'reroll', 'vary'] as const;
export type RoundOrigin = (typeof ROUND_ORIGINS)[number];

export const FEEDBACK_SIGNALS = ['up', 'down', 'pick', 'tie'] as const;
export type FeedbackSignal = (typeof FEEDBACK_SIGNALS)[number];

export const FEEDBACK_SOURCES = ['reaction', 'button', 'web'] as const;
export type FeedbackSource = (typeof FEEDBACK_SOURCES)[number];

export const MODERATION_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type ModerationStatus = (typeof MODERATION_STATUSES)[number];

export const MODERATION_ACTION_KINDS = [
  'approve_label',
  'reject_label',
  'ban_rater',
  'unban_rater',
  'delete_image',
  'delete_dialogue',
  'export_pairs',
  'export_dialogues',
  'block_term',
  'unblock_term',
  'request_training',
  'activate_model',
  'rollback_model',
] as const;
export type ModerationActionKind = (typeof MODERATION_ACTION_KINDS)[number];

/** `base`: a diffusion model; `lora`: a fine-tune of one; `reward`: a preference (reward) model. */
export const MODEL_VERSION_KINDS = ['base', 'lora', 'reward'] as const;
export type ModelVersionKind = (typeof MODEL_VERSION_KINDS)[number];

/** scheduled → running → succeeded | failed | skipped (a scheduled run may also end failed/skipped). */
export const TRAINING_RUN_STATUSES = ['scheduled', 'running', 'succeeded', 'failed', 'skipped'] as const;
export type TrainingRunStatus = (typeof TRAINING_RUN_STATUSES)[number];

export const TRAINING_RUN_TRIGGERS = ['nightly', 'manual'] as const;
export type TrainingRunTrigger = (typeof TRAINING_RUN_TRIGGERS)[number];

/** `CHECK ("column" IN ('a','b'))` for a value set above. */
export function checkIn(column: string, values: readonly string[]): string {
  return `"${column}" IN (${values.map((v) => `'${v}'`).join(', ')})`;
}
