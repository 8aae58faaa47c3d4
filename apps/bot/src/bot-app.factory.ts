import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { resolve } from 'node:path';
import { BotAppModule } from './bot-app.module';
import type { BotConfig } from './config/bot-config.schema';
import { CoreErrorFilter } from './http/core-error.filter';
import { stampReceivedAt } from './web/received-at.decorator';

/** The web chat's static page (plain HTML/CSS/JS: no build step). */
export const PUBLIC_DIR = resolve(__dirname, '../public');

/** Builds the bot app (not yet listening); used by main.ts, the tests and the benchmark. */
export async function createBotApp(config: BotConfig): Promise<NestExpressApplication> {
  // bodyParser off at creation so the received-at stamp runs before it; re-enabled right after.
  const app = await NestFactory.create<NestExpressApplication>(BotAppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
    // Boot errors (database or Redis unreachable) reach main.ts, which prints one line and exits.
    abortOnError: false,
  });
  app.use(stampReceivedAt);
  app.useBodyParser('json', { limit: '100kb' });
  app.useBodyParser('urlencoded', { extended: true, limit: '100kb' });
  app.useLogger(app.get(Logger));
  // Nest would hold buffered logs until listen(): start-up hooks waiting on Redis must be heard.
  app.flushLogs();
  app.useGlobalFilters(new CoreErrorFilter());
  app.useStaticAssets(PUBLIC_DIR, { index: 'index.html' });
  return app;
}
