import { Injectable } from '@nestjs/common';
import type { ChatAdapter, RoundUpdate, ThreadRef } from '../chat/chat-adapter.interface';
import { DiscordConnection } from './discord-connection.service';
import { DiscordRoundMessages } from './discord-round-messages.service';

/**
 * Discord as a chat platform (issue 6): connects the bot (when DISCORD_TOKEN is set) and posts
 * each round's updates into the dialogue's thread. Inbound events are DiscordModule's listeners.
 */
@Injectable()
export class DiscordChatAdapter implements ChatAdapter {
  readonly platform = 'discord' as const;

  constructor(
    private readonly connection: DiscordConnection,
    private readonly messages: DiscordRoundMessages,
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
