import { Injectable } from '@nestjs/common';
import type { ChatAdapter, RoundUpdate, ThreadRef } from '../chat/chat-adapter.interface';
import { SlackConnection } from './slack-connection.service';
import { SlackRoundMessages } from './slack-round-messages.service';

/**
 * Slack as a chat platform (issue 6): starts the Bolt app (when SLACK_BOT_TOKEN is set) and
 * posts each round's updates into the dialogue's thread. Inbound events are SlackModule's listeners.
 */
@Injectable()
export class SlackChatAdapter implements ChatAdapter {
  readonly platform = 'slack' as const;

  constructor(
    private readonly connection: SlackConnection,
    private readonly messages: SlackRoundMessages,
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
