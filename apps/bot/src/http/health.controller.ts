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
      this.dataSource.query('SELECT 1').then(() => true, () => false),
      // Any round trip proves Redis answers; a count is cheap.
      this.producer.queue.getWaitingCount().then(() => true, () => false),
    ]);
    const body = { database, redis, adapters: this.adapters.platforms };
    if (!database || !redis) throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}
