import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Client, Events } from 'discord.js';
import { createDiscordClient } from './discord-client.factory';
import { DISCORD_CONFIG, type DiscordConfig } from './discord-config.schema';
import { RetryLoop } from './shared/retry-backoff.util';

/**
 * Owns the discord.js client: logs in when DISCORD_TOKEN is set, retrying with backoff while the
 * token is refused or Discord is unreachable (a log line each time, never a crash), and
 * resolves `whenReady()` once the gateway session is up. Listeners attach to `client` before
 * `connect()` runs (module init precedes application bootstrap).
 */
@Injectable()
export class DiscordConnection {
  private readonly logger = new Logger('DiscordAdapter');
  readonly client: Client | null;
  private loop: RetryLoop | null = null;
  private readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(@Inject(DISCORD_CONFIG) private readonly config: DiscordConfig) {
    this.client = config.DISCORD_TOKEN ? createDiscordClient(config) : null;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.client?.on(Events.ShardResume, (shard, replayed) => this.logger.log(`gateway session resumed (shard ${shard}, ${replayed} events replayed)`));
    this.client?.on(Events.Error, (err) => this.logger.error(`discord.js: ${err.message}`));
  }

  get enabled(): boolean {
    return this.client !== null;
  }

  /** Starts connecting in the background; the app boots whether or not Discord answers. */
  connect(): void {
    const client = this.client;
    if (!client) {
      this.logger.log('Discord adapter off (DISCORD_TOKEN not set)');
      return;
    }
    if (this.loop) return;
    this.loop = new RetryLoop({
      name: 'discord',
      baseMs: this.config.DISCORD_RETRY_BASE_MS,
      capMs: this.config.DISCORD_RETRY_MAX_MS,
      log: (line) => this.logger.error(line),
    });
    void this.loop
      .run(async () => {
        let onReady: () => void = () => undefined;
        const readyEvent = new Promise<void>((resolve) => (onReady = resolve));
        client.once(Events.ClientReady, onReady);
        try {
          await client.login(this.config.DISCORD_TOKEN);
        } catch (err) {
          client.off(Events.ClientReady, onReady);
          // A failed login leaves a half-built session behind; clear it before the next try.
          await client.destroy().catch(() => undefined);
          if (/disallowed intents/i.test((err as Error).message)) {
            throw new Error(`${(err as Error).message}: enable "Message Content Intent" under Bot → Privileged Gateway Intents in the developer portal`);
          }
          throw err;
        }
        await readyEvent;
      })
      .then((connected) => {
        if (!connected) return;
        this.logger.log(`connected to Discord as ${this.client?.user?.tag ?? '?'} (${this.config.DISCORD_API_BASE})`);
        this.markReady();
      });
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  async disconnect(): Promise<void> {
    this.loop?.stop();
    await this.client?.destroy();
  }
}
