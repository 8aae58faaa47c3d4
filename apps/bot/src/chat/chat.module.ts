import { Module } from '@nestjs/common';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { DiscordAdapterModule } from '../discord/discord-adapter.module';
import { DiscordChatAdapter } from '../discord/discord-chat.adapter';
import { OverheadRecorder } from '../results/overhead.recorder';
import { RoundEventsRelay } from '../results/round-events.relay';
import { SlackAdapterModule } from '../slack/slack-adapter.module';
import { SlackChatAdapter } from '../slack/slack-chat.adapter';
import { WebAdapterModule } from '../web/web-adapter.module';
import { WebChatAdapter } from '../web/web-chat.adapter';
import { CHAT_ADAPTERS, type ChatAdapter } from './chat-adapter.interface';
import { ChatAdapterRegistry } from './chat-adapter.registry';

/**
 * Every chat adapter, registered in one place (style anchor 13), and the results path that
 * routes round updates to them. Each platform adapter starts only when its credentials are set.
 */
@Module({
  imports: [ConversationCoreModule, WebAdapterModule, DiscordAdapterModule, SlackAdapterModule],
  providers: [
    {
      provide: CHAT_ADAPTERS,
      inject: [WebChatAdapter, DiscordChatAdapter, SlackChatAdapter],
      useFactory: (...adapters: ChatAdapter[]): ChatAdapter[] => adapters,
    },
    ChatAdapterRegistry,
    OverheadRecorder,
    RoundEventsRelay,
  ],
  exports: [ChatAdapterRegistry, OverheadRecorder, RoundEventsRelay],
})
export class ChatModule {}
