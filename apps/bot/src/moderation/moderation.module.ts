import { Module } from '@nestjs/common';
import { ConversationCoreModule } from '../core/conversation-core.module';
import { TrainingModule } from '../training/training.module';
import { AdminTokenGuard } from './admin-token.guard';
import { ModerationController } from './moderation.controller';
import { WebModerationService } from './web-moderation.service';

@Module({
  imports: [ConversationCoreModule, TrainingModule],
  controllers: [ModerationController],
  providers: [AdminTokenGuard, WebModerationService],
})
export class ModerationModule {}
