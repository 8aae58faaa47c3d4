import { Module } from '@nestjs/common';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { OverheadRecorder } from '../results/overhead.recorder';
import { RoundEventsRelay } from '../results/round-events.relay';
import { WebAdapterModule } from '../web/web-adapter.module';
import { WebChatAdapter } from '../web/web-chat.adapter';
import { CHAT_ADAPTERS, type ChatAdapter } from './chat-adapter.interface';
import { ChatAdapterRegistry } from './chat-adapter.registry';

/**
 * Every chat adapter, registered in one place (style anchor 13), and the results path that
 * routes round updates to them. Discord and Slack (issue 6) join the factory below, each module
 * imported here and its adapter starting only when its credentials are set.
 */
@Module({
  imports: [ConversationCoreModule, WebAdapterModule],
  providers: [
    { provide: CHAT_ADAPTERS, inject: [WebChatAdapter], useFactory: (web: WebChatAdapter): ChatAdapter[] => [web] },
    ChatAdapterRegistry,
    OverheadRecorder,
    RoundEventsRelay,
  ],
  exports: [ChatAdapterRegistry, OverheadRecorder, RoundEventsRelay],
})
export class ChatModule {}
