import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BotMetrics } from '../metrics/bot-metrics.service';
import { CHAT_ADAPTERS, type ChatAdapter, type RoundUpdate, type ThreadRef } from './chat-adapter.interface';

/**
 * Holds the adapters registered under CHAT_ADAPTERS, starts them at boot and routes each round
 * update to the adapter of the dialogue's platform. One adapter failing to start (bad token,
 * platform down) is logged and does not stop the others (issue 6, item 3).
 */
@Injectable()
export class ChatAdapterRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChatAdapterRegistry.name);
  private readonly byPlatform = new Map<string, ChatAdapter>();

  constructor(
    @Inject(CHAT_ADAPTERS) adapters: ChatAdapter[],
    @Optional() private readonly metrics?: BotMetrics,
  ) {
    for (const adapter of adapters) this.register(adapter);
  }

  /**
   * Adds an adapter from a module ChatModule cannot import without a cycle (call it from
   * `onModuleInit`, before the application bootstrap starts the adapters).
   */
  register(adapter: ChatAdapter): void {
    if (this.byPlatform.has(adapter.platform)) throw new Error(`two chat adapters registered for ${adapter.platform}`);
    this.byPlatform.set(adapter.platform, adapter);
  }

  /** Platforms served by a configured adapter. */
  get platforms(): string[] {
    return [...this.byPlatform.values()].filter((a) => a.enabled).map((a) => a.platform);
  }

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(
      [...this.byPlatform.values()].map(async (adapter) => {
        try {
          await adapter.start();
        } catch (err) {
          this.logger.error(`chat adapter ${adapter.platform} did not start: ${(err as Error).message}`);
        }
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.byPlatform.values()].map((a) => a.stop()));
  }

  /** Whether every replica delivers this platform's updates to its own readers (see `deliveryScope`). */
  deliversPerReplica(platform: string): boolean {
    return this.byPlatform.get(platform)?.deliveryScope === 'replica';
  }

  /** Delivers to the dialogue's adapter; returns false when no adapter serves that platform. */
  async deliver(thread: ThreadRef, update: RoundUpdate): Promise<boolean> {
    const adapter = this.byPlatform.get(thread.platform);
    if (!adapter) return false;
    await adapter.deliver(thread, update);
    this.metrics?.roundUpdates.inc({ platform: thread.platform, kind: update.kind });
    return true;
  }
}
