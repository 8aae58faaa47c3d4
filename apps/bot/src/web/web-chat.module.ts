import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { ImagesController } from './images.controller';
import { WebAdapterModule } from './web-adapter.module';
import { WebChatController } from './web-chat.controller';
import { WebChatService } from './web-chat.service';

/** The web chat's HTTP side: JSON API, SSE stream and image files (the page is static). */
@Module({
  imports: [ConversationCoreModule, ChatModule, WebAdapterModule],
  controllers: [WebChatController, ImagesController],
  providers: [WebChatService],
  exports: [WebChatService],
})
export class WebChatModule {}
