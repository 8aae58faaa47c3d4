import type { z } from 'zod';
import { CoreError, CoreErrorCode } from './core.error';

/** Parse a boundary input; a zod error becomes an INVALID_INPUT domain error naming the field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  const first = res.error.issues[0];
  const where = first && first.path.length ? ` at ${first.path.map(String).join('.')}` : '';
  throw new CoreError(CoreErrorCode.InvalidInput, `Invalid input${where}: ${first?.message ?? 'invalid'}`, {
    issues: res.error.issues,
  });
}
