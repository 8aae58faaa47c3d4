import { Client, GatewayIntentBits, Partials } from 'discord.js';
import type { DiscordConfig } from './discord-config.schema';

/**
 * The discord.js client the adapter runs on. Intents: guilds (threads), guild messages and
 * MESSAGE_CONTENT (privileged: thread replies are the feedback text), guild message reactions.
 * Partials let reactions on messages posted before a restart still arrive.
 */
export function createDiscordClient(config: DiscordConfig): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.GuildMessageReactions],
    partials: [Partials.Channel, Partials.Message, Partials.Reaction, Partials.User, Partials.GuildMember],
    // A platform that is down fails the attempt fast; our own backoff loop retries (issue 6, item 3).
    rest: { api: config.DISCORD_API_BASE, retries: 1, timeout: 10_000 },
    // No @everyone/role pings from prompts echoed back into the channel.
    allowedMentions: { parse: [], repliedUser: false },
  });
}
