import type { RedisOptions } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';

/** Where the queues live: one Redis URL plus the BullMQ key prefix (tests use a unique prefix). */
export interface QueueConnectionOptions {
  redisUrl: string;
  prefix: string;
}

/**
 * Connection options for a Redis URL. BullMQ classes get options rather than a client so that
 * each owns (and closes) its connections. `maxRetriesPerRequest: null` is required by BullMQ
 * workers: blocking commands wait through a reconnect instead of failing after 20 retries, which
 * is what lets producers and workers ride out a Redis restart.
 */
export function redisOptionsFromUrl(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    // Reconnect quickly but not in a tight loop while Redis restarts.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  };
}

/**
 * A client for short, non-blocking commands. Auto-pipelining sends the commands issued in one
 * tick as one write: a socket write costs far more than a small command (measured in the
 * bench:chat profile), and the queue-position poll issues many at once.
 */
export function createRedisClient(redisUrl: string): Redis {
  const { host, port, username, password, db, tls, retryStrategy } = redisOptionsFromUrl(redisUrl);
  return new IORedis({ host, port, username, password, db, tls, retryStrategy, maxRetriesPerRequest: null, enableAutoPipelining: true });
}
