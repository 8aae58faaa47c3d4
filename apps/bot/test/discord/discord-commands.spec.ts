import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discordCommands } from '../../src/discord/discord-commands';
import { registerDiscordCommands } from '../../src/discord/discord-commands.registrar';
import { loadDiscordConfig } from '../../src/discord/discord-config.schema';
import { FakeDiscord } from '../fakes/discord/fake-discord.server';

describe(registerDiscordCommands.name, () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await FakeDiscord.start();
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('overwrites the guild commands when DISCORD_GUILD_ID is set, else the global ones', async () => {
    const env = { DISCORD_TOKEN: fake.token, DISCORD_APP_ID: fake.appId, DISCORD_API_BASE: fake.apiBase };
    expect(await registerDiscordCommands(loadDiscordConfig({ ...env, DISCORD_GUILD_ID: fake.guildId }))).toEqual({ scope: `guild ${fake.guildId}`, names: ['imagine', 'vca-mod', 'quota'] });
    expect(fake.commands.guild).toEqual(discordCommands());
    await registerDiscordCommands(loadDiscordConfig(env));
    expect((fake.commands.global as Array<{ name: string }>).map((c) => c.name)).toEqual(['imagine', 'vca-mod', 'quota']);
  });

  it('declares every moderator subcommand', () => {
    const mod = discordCommands().find((c) => c.name === 'vca-mod')!;
    expect(mod.options!.map((o) => o.name)).toEqual(['review', 'approve', 'reject', 'ban', 'unban', 'export', 'retrain', 'block', 'unblock', 'blocklist', 'runs', 'versions', 'rollback']);
  });

  it('needs DISCORD_APP_ID with a token', () => {
    expect(() => loadDiscordConfig({ DISCORD_TOKEN: 'x' })).toThrow(/DISCORD_APP_ID/);
  });
});
