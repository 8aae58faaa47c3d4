import { Module } from '@nestjs/common';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { DiscordAdapterModule } from '../discord/discord-adapter.module';
import { SlackAdapterModule } from '../slack/slack-adapter.module';
import { TrainingControl } from './training-control.service';
import { TrainingReportRelay } from './training-report.relay';

/**
 * The moderators' side of the learning loop: training runs on demand, runs and model versions
 * with their metrics, activation and rollback (TrainingControl, used by the web page and the
 * chat commands), and the report posted to the moderators' channels when a run ends.
 */
@Module({
  imports: [ConversationCoreModule, DiscordAdapterModule, SlackAdapterModule],
  providers: [TrainingControl, TrainingReportRelay],
  exports: [TrainingControl, TrainingReportRelay],
})
export class TrainingModule {}
