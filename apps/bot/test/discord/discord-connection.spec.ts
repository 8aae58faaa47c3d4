import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDiscordConfig } from '../../src/discord/discord-config.schema';
import { DiscordConnection } from '../../src/discord/discord-connection.service';
import { FakeDiscord } from '../fakes/discord/fake-discord.server';

/** The real discord.js client against the fake: handshake, heartbeats, bad token, outage. */
describe(DiscordConnection.name, () => {
  let fake: FakeDiscord;

  beforeAll(async () => {
    fake = await FakeDiscord.start({ heartbeatIntervalMs: 200 });
  });
  afterAll(async () => {
    await fake?.close();
  });

  const config = (token: string) =>
    loadDiscordConfig({ DISCORD_TOKEN: token, DISCORD_APP_ID: fake.appId, DISCORD_API_BASE: fake.apiBase, DISCORD_RETRY_BASE_MS: '20', DISCORD_RETRY_MAX_MS: '50' });

  it('identifies, receives READY and the guild, and keeps the session alive with acknowledged heartbeats', async () => {
    const connection = new DiscordConnection(config(fake.token));
    connection.connect();
    await connection.whenReady();
    expect(connection.client!.user!.id).toBe(fake.bot.id);
    expect(connection.client!.guilds.cache.get(fake.guildId)?.channels.cache.has(fake.channelId)).toBe(true);
    await fake.gateway.waitFor(() => fake.gateway.stats.heartbeats >= 2);
    expect(fake.gateway.stats.acks).toBe(fake.gateway.stats.heartbeats);
    expect(fake.calls).toContain('GET /gateway/bot');
    await connection.disconnect();
  });

  it('retries with backoff while the token is refused, without throwing', async () => {
    const before = fake.calls.filter((c) => c === 'GET /gateway/bot').length;
    const connection = new DiscordConnection(config('not-the-token'));
    connection.connect();
    await fake.gateway.waitFor(() => false, 400).catch(() => undefined);
    const attempts = fake.calls.filter((c) => c === 'GET /gateway/bot').length - before;
    expect(attempts).toBeGreaterThanOrEqual(2);
    await connection.disconnect();
  });

  it('names the missing Message Content intent and keeps retrying', async () => {
    fake.messageContentIntent = false;
    const logs: string[] = [];
    const connection = new DiscordConnection(config(fake.token));
    (connection as unknown as { logger: { error: (m: string) => void } }).logger.error = (m: string) => void logs.push(m);
    connection.connect();
    await fake.gateway.waitFor(() => false, 1500).catch(() => undefined);
    fake.messageContentIntent = true;
    expect(logs.some((l) => /disallowed intents.*Message Content Intent/i.test(l))).toBe(true);
    await connection.whenReady();
    await connection.disconnect();
  });

  it('connects once an unreachable Discord comes back', async () => {
    fake.down = true;
    const connection = new DiscordConnection(config(fake.token));
    connection.connect();
    await fake.gateway.waitFor(() => false, 300).catch(() => undefined);
    expect(fake.calls.filter((c) => c === 'GET /gateway/bot').length).toBeGreaterThan(0);
    const identifies = fake.gateway.stats.identifies;
    fake.down = false;
    await connection.whenReady();
    expect(fake.gateway.stats.identifies).toBe(identifies + 1);
    await connection.disconnect();
  });
});
