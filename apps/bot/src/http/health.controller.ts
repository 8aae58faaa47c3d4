import { Controller, Get, HttpException, HttpStatus } from '@nestjs/common';
import { GenerationQueueProducer } from '@vca/queue';
import { DataSource } from 'typeorm';
import { ChatAdapterRegistry } from '../chat/chat-adapter.registry';

/** Liveness of the bot's dependencies: 200 when PostgreSQL and Redis answer, else 503. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly producer: GenerationQueueProducer,
    private readonly adapters: ChatAdapterRegistry,
  ) {}

  @Get()
  async health(): Promise<{ database: boolean; redis: boolean; adapters: string[] }> {
    const [database, redis] = await Promise.all([
      answers(this.dataSource.query('SELECT 1')),
      // Any round trip proves Redis answers; a count is cheap. BullMQ's connection queues
      // commands while Redis is away instead of failing them, hence the time limit.
      answers(this.producer.queue.getWaitingCount()),
    ]);
    const body = { database, redis, adapters: this.adapters.platforms };
    if (!database || !redis) throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}

/** True when the probe settles successfully within the limit; a probe left hanging is false. */
function answers(probe: Promise<unknown>, limitMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), limitMs);
    probe.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}
