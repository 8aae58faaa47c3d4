import { parseEnv } from '@vca/shared';
import { z } from 'zod';

/**
 * Environment of the Slack adapter (issue 6). Unset SLACK_BOT_TOKEN switches it off. With
 * SLACK_APP_TOKEN (xapp-…) the bot uses Socket Mode; otherwise Bolt's HTTP receiver serves the
 * Events API at /slack/events on SLACK_PORT and needs SLACK_SIGNING_SECRET.
 */
export const SlackEnvSchema = z
  .object({
    SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'must be a bot token (xoxb-…)').optional(),
    SLACK_SIGNING_SECRET: z.string().min(8).optional(),
    SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
    /** Web API base URL (trailing slash); Slack's own by default. */
    SLACK_API_URL: z.url().default('https://slack.com/api/'),
    /** Members of this user group (S…) may run /vca-mod; unset means nobody may. */
    SLACK_MODERATOR_GROUP_ID: z.string().regex(/^S[A-Z0-9]+$/, 'must be a user group id (S…)').optional(),
    /** Channel (C…/G…) where the bot posts each training run's report when it ends; unset = not posted. */
    SLACK_MOD_CHANNEL_ID: z.string().regex(/^[CG][A-Z0-9]+$/, 'must be a channel id (C… or G…)').optional(),
    /** Port and interface of the Events API receiver (HTTP mode only). */
    SLACK_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
    SLACK_HOST: z.string().min(1).default('0.0.0.0'),
    SLACK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(2_000),
    SLACK_RETRY_MAX_MS: z.coerce.number().int().min(10).max(3_600_000).default(300_000),
    /** Shortest gap between two progress edits of one working message (chat.update is rate-limited). */
    SLACK_PROGRESS_EDIT_MS: z.coerce.number().int().min(0).max(60_000).default(1_500),
  })
  .refine((env) => !env.SLACK_BOT_TOKEN || env.SLACK_APP_TOKEN || env.SLACK_SIGNING_SECRET, {
    message: 'is required when SLACK_BOT_TOKEN is set without SLACK_APP_TOKEN (HTTP mode)',
    path: ['SLACK_SIGNING_SECRET'],
  });
export type SlackConfig = z.infer<typeof SlackEnvSchema>;

export const SLACK_CONFIG = Symbol('SLACK_CONFIG');

export function loadSlackConfig(env: NodeJS.ProcessEnv = process.env): SlackConfig {
  const config = parseEnv('bot (slack)', SlackEnvSchema, env);
  return Object.freeze({ ...config, SLACK_API_URL: config.SLACK_API_URL.endsWith('/') ? config.SLACK_API_URL : `${config.SLACK_API_URL}/` });
}
