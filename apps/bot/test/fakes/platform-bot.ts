import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Logger } from 'nestjs-pino';
import { BotAppModule } from '../../src/bot-app.module';
import { DISCORD_CONFIG, loadDiscordConfig } from '../../src/discord/discord-config.schema';
import { SLACK_CONFIG, loadSlackConfig } from '../../src/slack/slack-config.schema';
import { startBotWith, type BotTestEnv } from '../support/bot-test-env';

/**
 * The whole bot app (with its Discord and Slack modules) for one test file, on its own Postgres
 * schema, BullMQ prefix and image directory. `platformEnv` configures the adapters
 * (DISCORD_* / SLACK_*), as the process environment would.
 */
export function startPlatformBot(tag: string, overrides: Record<string, string>, platformEnv: Record<string, string>): Promise<BotTestEnv> {
  return startBotWith(tag, overrides, async (config) => {
    const moduleRef = await Test.createTestingModule({ imports: [BotAppModule.forRoot(config)] })
      .overrideProvider(DISCORD_CONFIG)
      .useValue(loadDiscordConfig(platformEnv))
      .overrideProvider(SLACK_CONFIG)
      .useValue(loadSlackConfig(platformEnv))
      .compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({ bufferLogs: true });
    app.useLogger(app.get(Logger));
    return app;
  });
}
