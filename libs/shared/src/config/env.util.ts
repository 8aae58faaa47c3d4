import type { z } from 'zod';

export interface EnvIssue {
  variable: string;
  message: string;
}

/** Thrown when the environment is invalid; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(
    readonly app: string,
    readonly issues: EnvIssue[],
  ) {
    super(`Invalid ${app} configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

type EnvSchema = z.ZodObject<z.ZodRawShape>;

/**
 * Parses the variables the schema names. Empty strings count as unset, so `FOO=` in a compose file
 * falls back to the default instead of failing a number or URL check.
 */
export function parseEnv<S extends EnvSchema>(app: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const present = Object.fromEntries(
    Object.keys(schema.shape)
      .map((key) => [key, env[key]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      app,
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '?'), message: issue.message })),
    );
  }
  return parsed.data as z.infer<S>;
}

/**
 * A loader that validates `process.env` on first use and returns the same frozen object after
 * that: configuration does not change after construction (style anchors, anti-patterns).
 */
export function cachedEnv<S extends EnvSchema>(app: string, schema: S): { get(): Readonly<z.infer<S>>; reset(): void } {
  let cached: Readonly<z.infer<S>> | undefined;
  return {
    get() {
      cached ??= Object.freeze(parseEnv(app, schema));
      return cached;
    },
    /** For tests that change process.env between cases. */
    reset() {
      cached = undefined;
    },
  };
}

/**
 * Boot helper for `main.ts`: an invalid environment stops the process with one readable line
 * (no stack trace) naming the variables; other errors propagate.
 */
export function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG from sysexits.h
    }
    throw err;
  }
}
