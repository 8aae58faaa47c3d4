import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedisClient } from '@vca/queue';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';

/** A Redis client for /health only; the queues hold their own connections. */
@Injectable()
export class RedisHealthService implements OnApplicationShutdown {
  private readonly redis: Redis;

  constructor(@Inject(GPU_SERVER_CONFIG) config: GpuServerConfig) {
    this.redis = createRedisClient(config.REDIS_URL);
    // ioredis reconnects by itself; without a listener an 'error' would crash the process.
    this.redis.on('error', () => undefined);
  }

  async ping(timeoutMs = 1000): Promise<boolean> {
    const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    const pong = this.redis.ping().then((r) => r === 'PONG').catch(() => false);
    return Promise.race([pong, timeout]);
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
