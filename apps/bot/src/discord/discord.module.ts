import { Module } from '@nestjs/common';
import { ChatModule } from '../chat/chat.module';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { TrainingModule } from '../training/training.module';
import { DiscordAdapterModule } from './discord-adapter.module';
import { DiscordDialogueListener } from './discord-dialogue.listener';
import { DiscordFeedbackListener } from './discord-feedback.listener';
import { DiscordModerationListener } from './discord-moderation.listener';
import { DiscordQuotaListener } from './discord-quota.listener';
import { DiscordRoundRequestListener } from './discord-round-request.listener';
import { ChatModerationService } from './shared/chat-moderation.service';
import { ThreadChatService } from './shared/thread-chat.service';

/**
 * The Discord bot's inbound half (issue 6): dialogue, feedback, reroll/vary and moderation listeners on the
 * client DiscordAdapterModule owns. Listeners attach only when DISCORD_TOKEN is set.
 */
@Module({
  imports: [ConversationCoreModule, ChatModule, TrainingModule, DiscordAdapterModule],
  providers: [ThreadChatService, ChatModerationService, DiscordDialogueListener, DiscordFeedbackListener, DiscordRoundRequestListener, DiscordModerationListener, DiscordQuotaListener],
})
export class DiscordModule {}
