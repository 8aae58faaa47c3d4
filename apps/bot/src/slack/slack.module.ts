import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { TrainingModule } from '../training/training.module';
import { ChatModerationService } from '../discord/shared/chat-moderation.service';
import { ThreadChatService } from '../discord/shared/thread-chat.service';
import { SlackAdapterModule } from './slack-adapter.module';
import { SlackDialogueListener } from './slack-dialogue.listener';
import { SlackEventDedupe } from './slack-event-dedupe.service';
import { SlackFeedbackListener } from './slack-feedback.listener';
import { SlackModerationListener } from './slack-moderation.listener';
import { SlackModerators } from './slack-moderators.service';
import { SlackQuotaListener } from './slack-quota.listener';
import { SlackRoundRequestListener } from './slack-round-request.listener';

/**
 * The Slack bot's inbound half (issue 6): retry de-duplication, dialogue, feedback,
 * reroll/vary and moderation listeners on the Bolt app SlackAdapterModule owns; active only with SLACK_BOT_TOKEN.
 */
@Module({
  imports: [ConversationCoreModule, ChatModule, TrainingModule, SlackAdapterModule],
  providers: [ThreadChatService, ChatModerationService, SlackEventDedupe, SlackDialogueListener, SlackFeedbackListener, SlackRoundRequestListener, SlackModerationListener, SlackModerators, SlackQuotaListener],
})
export class SlackModule {}
