import IORedis from 'ioredis';

/**
 * Deletes every key under a BullMQ prefix (`<prefix>:*`) with SCAN, never KEYS, so a large
 * Redis is not blocked. Tests use it to remove their private prefix; operators can use it to
 * retire a queue prefix.
 */
export async function dropPrefix(prefix: string, redisUrl: string): Promise<void> {
  const redis = new IORedis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
