/**
 * `npm run discord:register`: registers /imagine and /vca-mod for DISCORD_APP_ID (guild-scoped
 * when DISCORD_GUILD_ID is set). Run it once after creating the app and after changing commands.
 */
import { exitOnConfigError } from '@vca/shared';
import { loadDiscordConfig } from '../src/discord/discord-config.schema';
import { registerDiscordCommands } from '../src/discord/discord-commands.registrar';

async function main(): Promise<void> {
  const config = exitOnConfigError(() => loadDiscordConfig());
  const { scope, names } = await registerDiscordCommands(config);
  process.stdout.write(`registered ${names.map((n) => `/${n}`).join(', ')} (${scope})\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`command registration failed: ${err.message}\n`);
  process.exit(1);
});
