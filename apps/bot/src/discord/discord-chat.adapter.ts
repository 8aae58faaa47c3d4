import { Injectable } from '@nestjs/common';
import { ConnectedChatAdapter } from '../chat/connected-chat.adapter';
import { DiscordConnection } from './discord-connection.service';
import { DiscordRoundMessages } from './discord-round-messages.service';

/**
 * Discord as a chat platform (issue 6): connects the bot (when DISCORD_TOKEN is set) and posts
 * each round's updates into the dialogue's thread. Inbound events are DiscordModule's listeners.
 */
@Injectable()
export class DiscordChatAdapter extends ConnectedChatAdapter {
  readonly platform = 'discord' as const;

  constructor(connection: DiscordConnection, messages: DiscordRoundMessages) {
    super(connection, messages);
  }
}
