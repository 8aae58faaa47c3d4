import { Injectable } from '@nestjs/common';
import type { ChatAdapter, RoundUpdate, ThreadRef } from '../chat/chat-adapter.interface';
import { WebEventsHub } from './web-events.hub';

/**
 * The web chat as a chat platform: "posting" a round update means pushing it to the browsers
 * watching the thread over SSE. The page reloads the thread on open, so nothing is lost while
 * no browser is connected. With several bot replicas each pushes to its own browsers.
 */
@Injectable()
export class WebChatAdapter implements ChatAdapter {
  readonly platform = 'web' as const;
  readonly enabled = true;
  /** Browsers watch the replica they are connected to: every replica pushes every update. */
  readonly deliveryScope = 'replica' as const;

  constructor(private readonly hub: WebEventsHub) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async deliver(_thread: ThreadRef, update: RoundUpdate): Promise<void> {
    this.hub.publish(update);
  }
}
