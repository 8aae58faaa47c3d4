import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ConversationService } from '@vca/core';
import { GenerationQueueProducer } from '@vca/queue';
import { DataSource } from 'typeorm';

/**
 * Starts the queue producer once the app is wired and re-enqueues rounds a previous run left
 * queued (job ids derive from round ids, so a job still in Redis is not duplicated). Shutdown
 * closes the queue before the database so no event handler runs against a closed pool.
 */
@Injectable()
export class QueueLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(QueueLifecycle.name);

  constructor(
    private readonly producer: GenerationQueueProducer,
    private readonly conversation: ConversationService,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.start();
    try {
      const resumed = await this.conversation.resumeQueuedRounds();
      if (resumed.length) this.logger.log(`re-enqueued ${resumed.length} round(s) left from a previous run`);
    } catch (err) {
      this.logger.warn(`could not re-enqueue pending rounds: ${(err as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
