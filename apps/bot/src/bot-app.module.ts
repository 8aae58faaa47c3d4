import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { ChatModule } from './chat/chat.module';
import { BotConfigModule } from './config/bot-config.module';
import type { BotConfig } from './config/bot-config.schema';
import { ConversationCoreModule } from './core/conversation-core.module';
import { DiscordModule } from './discord/discord.module';
import { HealthController } from './http/health.controller';
import { BotMetricsModule } from './metrics/bot-metrics.module';
import { ModerationModule } from './moderation/moderation.module';
import { SlackModule } from './slack/slack.module';
import { TrainingModule } from './training/training.module';
import { WebChatModule } from './web/web-chat.module';

/** Root module of apps/bot, built from the configuration validated at boot. */
@Module({})
export class BotAppModule {
  static forRoot(config: BotConfig): DynamicModule {
    return {
      module: BotAppModule,
      imports: [
        BotConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            // SSE streams and image files would drown the request log.
            autoLogging: { ignore: (req) => /\/events$|^\/images\/|^\/metrics$|^\/health$/.test(req.url ?? '') },
            redact: ['req.headers.authorization'],
          },
        }),
        BotMetricsModule,
        ConversationCoreModule,
        ChatModule,
        WebChatModule,
        ModerationModule,
        DiscordModule,
        SlackModule,
        TrainingModule,
      ],
      controllers: [HealthController],
    };
  }
}
