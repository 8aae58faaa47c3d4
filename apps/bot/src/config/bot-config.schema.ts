import { MAX_TERM_CHARS, parseTermList } from '@vca/core';
import { CommonEnvFields, envInt, envPort } from '@vca/shared';
import { z } from 'zod';

/**
 * Environment of apps/bot: the fields both apps share (database, Redis, queue prefix, image
 * directory, migrations) plus the bot's own. Defaults work on a machine running PostgreSQL and
 * Redis locally; parsed once at boot so a bad value stops the app naming the variable. The
 * language-model refiner reads REFINER_LLM_* (see @vca/core `REFINER_ENV`), checked at boot too.
 */
export const BotEnvSchema = z
  .object({
    ...CommonEnvFields,
    PORT: envPort(3000),
    /** Interface to listen on. The web chat has no accounts, so it stays on localhost by default. */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** Bearer token for the moderation page and API; when unset moderation is switched off. */
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** PostgreSQL connections of this process (each chat message uses a few short transactions). */
    DATABASE_POOL_SIZE: envInt(1, 100, 20),
    /** N candidates per round (default 4). */
    CANDIDATES_PER_ROUND: envInt(1, 16, 4),
    GENERATION_STEPS: envInt(1, 200, 30),
    GUIDANCE_SCALE: z.coerce.number().min(0).max(50).default(7.5),
    /** Salt of pseudonymous rater ids; changing it changes every rater id. */
    RATER_ID_SALT: z.string().default(''),
    /** Rounds of one user in flight at once (fairness between users). */
    PER_USER_CONCURRENCY: envInt(1, 64, 1),
    /** Attempts per generation job (first try included) and the base of the exponential backoff. */
    JOB_ATTEMPTS: envInt(1, 20, 3),
    JOB_BACKOFF_MS: envInt(0, 600_000, 5_000),
    /** Rounds one user may ask for per rolling 24 hours (moderators exempt); 0 = unlimited. */
    DAILY_ROUND_QUOTA: envInt(0, 100_000, 0),
    /** Interval of the queue-position refresh pushed to waiting threads. */
    QUEUE_POSITION_POLL_MS: envInt(100, 60_000, 1000),
    /**
     * Terms refused in every workspace, comma-separated ("gore, blood splatter"); matched as whole
     * words, case- and punctuation-insensitive. Moderators add per-workspace terms from chat or
     * the moderation page.
     */
    PROMPT_BLOCKLIST: z
      .string()
      .default('')
      .transform((list, ctx) => {
        const { terms, invalid } = parseTermList(list);
        for (const term of invalid) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(term)} needs letters or digits and at most ${MAX_TERM_CHARS} characters` });
        }
        return terms;
      }),
    /**
     * Best-of-K: the worker generates K candidates per round, scores them with the reward model and
     * keeps the CANDIDATES_PER_ROUND best (generation costs K/N times as much); 0 = off.
     */
    OVERSAMPLE: envInt(0, 16, 0),
  })
  .refine((env) => env.OVERSAMPLE === 0 || env.OVERSAMPLE >= env.CANDIDATES_PER_ROUND, {
    message: 'must be 0 (off) or at least CANDIDATES_PER_ROUND',
    path: ['OVERSAMPLE'],
  });
export type BotConfig = z.infer<typeof BotEnvSchema>;
