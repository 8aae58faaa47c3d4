import type { ChatAdapter, Platform, RoundUpdate, ThreadRef } from './chat-adapter.interface';

/** A platform client that is configured or not, connects in the background and can be closed. */
export interface PlatformConnection {
  readonly enabled: boolean;
  /** Starts connecting; retries with backoff on its own and never throws for a bad token. */
  connect(): void;
  disconnect(): Promise<void>;
}

/** Renders round updates into a platform thread (working message, results, failures). */
export interface RoundMessagePoster {
  deliver(thread: ThreadRef, update: RoundUpdate): Promise<void>;
}

/**
 * The adapter shape Discord and Slack share: a connection that exists only when credentials are
 * set, and a poster that renders updates. Unconfigured platforms drop updates silently.
 */
export abstract class ConnectedChatAdapter implements ChatAdapter {
  abstract readonly platform: Platform;
  /** One message on the platform: exactly one replica posts each result. */
  readonly deliveryScope = 'platform' as const;

  protected constructor(
    private readonly connection: PlatformConnection,
    private readonly messages: RoundMessagePoster,
  ) {}

  get enabled(): boolean {
    return this.connection.enabled;
  }

  async start(): Promise<void> {
    this.connection.connect();
  }

  async stop(): Promise<void> {
    await this.connection.disconnect();
  }

  async deliver(thread: ThreadRef, update: RoundUpdate): Promise<void> {
    if (!this.connection.enabled) return;
    await this.messages.deliver(thread, update);
  }
}
