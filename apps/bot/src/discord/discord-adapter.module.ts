import { Module } from '@nestjs/common';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { DiscordChatAdapter } from './discord-chat.adapter';
import { DISCORD_CONFIG, loadDiscordConfig } from './discord-config.schema';
import { DiscordConnection } from './discord-connection.service';
import { DiscordRoundMessages } from './discord-round-messages.service';

/**
 * Discord's outbound half: the client connection and the round messages, registered with the
 * chat adapters in ChatModule. Kept apart from DiscordModule (the listeners, which need
 * ChatModule's relay) so ChatModule can import this one without a cycle.
 */
@Module({
  imports: [ConversationCoreModule],
  providers: [{ provide: DISCORD_CONFIG, useFactory: () => loadDiscordConfig() }, DiscordConnection, DiscordRoundMessages, DiscordChatAdapter],
  exports: [DISCORD_CONFIG, DiscordConnection, DiscordRoundMessages, DiscordChatAdapter],
})
export class DiscordAdapterModule {}
