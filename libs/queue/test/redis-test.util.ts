import { randomUUID } from 'node:crypto';
import { dropPrefix as dropPrefixAt } from '../src/redis-prefix.util';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A BullMQ prefix no other test file (or engineer) uses. */
export function uniquePrefix(tag: string): string {
  return `vca-test-${tag}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under the prefix (test default: the test Redis). */
export function dropPrefix(prefix: string, redisUrl = TEST_REDIS_URL): Promise<void> {
  return dropPrefixAt(prefix, redisUrl);
}

export function until(predicate: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 20);
    };
    check();
  });
}
