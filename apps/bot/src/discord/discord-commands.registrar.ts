import { REST, Routes } from 'discord.js';
import type { DiscordConfig } from './discord-config.schema';
import { discordCommands } from './discord-commands';

/**
 * Registers (bulk-overwrites) the slash commands: in DISCORD_GUILD_ID when set (visible at once,
 * for development), otherwise globally (Discord may take up to an hour to show them).
 * Returns the registered command names.
 */
export async function registerDiscordCommands(config: DiscordConfig): Promise<{ scope: string; names: string[] }> {
  if (!config.DISCORD_TOKEN || !config.DISCORD_APP_ID) throw new Error('DISCORD_TOKEN and DISCORD_APP_ID are required to register commands');
  const rest = new REST({ api: config.DISCORD_API_BASE }).setToken(config.DISCORD_TOKEN);
  const route = config.DISCORD_GUILD_ID
    ? Routes.applicationGuildCommands(config.DISCORD_APP_ID, config.DISCORD_GUILD_ID)
    : Routes.applicationCommands(config.DISCORD_APP_ID);
  const registered = (await rest.put(route, { body: discordCommands() })) as Array<{ name: string }>;
  return { scope: config.DISCORD_GUILD_ID ? `guild ${config.DISCORD_GUILD_ID}` : 'global', names: registered.map((c) => c.name) };
}
