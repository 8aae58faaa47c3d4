import 'reflect-metadata';
import { exitOnConfigError } from '@vca/shared';
import { Logger } from 'nestjs-pino';
import { createBotApp } from './bot-app.factory';
import { loadBotConfig } from './config/bot-config.util';
import { loadDiscordConfig } from './discord/discord-config.schema';
import { loadSlackConfig } from './slack/slack-config.schema';

/** `npm run start:bot`: configuration from the environment, invalid values stop the process. */
async function main(): Promise<void> {
  const config = exitOnConfigError(() => {
    // Platform variables are checked here too, so a bad one gets the same one-line message.
    loadDiscordConfig();
    loadSlackConfig();
    return loadBotConfig();
  });
  const app = await createBotApp(config);
  app.enableShutdownHooks();
  await app.listen(config.PORT, config.HOST);
  app.get(Logger).log(`bot listening on http://${config.HOST}:${config.PORT} (web chat at /, moderation at /moderation.html)`);
}

main().catch((err: Error) => {
  // PostgreSQL or Redis unreachable, a failing migration, a port in use: one readable line.
  process.stderr.write(`bot could not start: ${err.message}\n`);
  process.exit(1);
});
