import { Module } from '@nestjs/common';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { SlackChatAdapter } from './slack-chat.adapter';
import { SLACK_CONFIG, loadSlackConfig } from './slack-config.schema';
import { SlackConnection } from './slack-connection.service';
import { SlackRoundMessages } from './slack-round-messages.service';

/** Slack's outbound half (Bolt app, round messages), registered with the chat adapters in ChatModule. */
@Module({
  imports: [ConversationCoreModule],
  providers: [{ provide: SLACK_CONFIG, useFactory: () => loadSlackConfig() }, SlackConnection, SlackRoundMessages, SlackChatAdapter],
  exports: [SLACK_CONFIG, SlackConnection, SlackRoundMessages, SlackChatAdapter],
})
export class SlackAdapterModule {}
