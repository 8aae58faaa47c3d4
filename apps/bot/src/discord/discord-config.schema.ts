import { parseEnv } from '@vca/shared';
import { z } from 'zod';

const snowflake = z.string().regex(/^\d{5,25}$/, 'must be a Discord id (digits)');

/**
 * Environment of the Discord adapter (issue 6). Unset DISCORD_TOKEN switches the adapter off;
 * set, DISCORD_APP_ID is required too. Parsed once at boot: a bad value stops the app naming
 * the variable.
 */
export const DiscordEnvSchema = z
  .object({
    DISCORD_TOKEN: z.string().min(1).optional(),
    DISCORD_APP_ID: snowflake.optional(),
    /** REST base URL; discord.js appends /v10. The gateway URL comes from its /gateway/bot. */
    DISCORD_API_BASE: z.url().default('https://discord.com/api'),
    /** Members with this role may run /vca-mod; unset means nobody may. */
    DISCORD_MODERATOR_ROLE_ID: snowflake.optional(),
    /** Register the slash commands in this guild only (instant) instead of globally. */
    DISCORD_GUILD_ID: snowflake.optional(),
    /** Channel where the bot posts each training run's report when it ends; unset = not posted. */
    DISCORD_MOD_CHANNEL_ID: snowflake.optional(),
    /** Backoff between connection attempts (bad token, Discord unreachable). */
    DISCORD_RETRY_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(2_000),
    DISCORD_RETRY_MAX_MS: z.coerce.number().int().min(10).max(3_600_000).default(300_000),
    /** Shortest gap between two progress edits of one working message (Discord rate-limits edits). */
    DISCORD_PROGRESS_EDIT_MS: z.coerce.number().int().min(0).max(60_000).default(1_500),
  })
  .refine((env) => !env.DISCORD_TOKEN || env.DISCORD_APP_ID, { message: 'is required when DISCORD_TOKEN is set', path: ['DISCORD_APP_ID'] });
export type DiscordConfig = z.infer<typeof DiscordEnvSchema>;

/** Injection token of the validated Discord configuration. */
export const DISCORD_CONFIG = Symbol('DISCORD_CONFIG');

export function loadDiscordConfig(env: NodeJS.ProcessEnv = process.env): DiscordConfig {
  return Object.freeze(parseEnv('bot (discord)', DiscordEnvSchema, env));
}
