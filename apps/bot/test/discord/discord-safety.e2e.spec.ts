import { GENERATION_QUEUE, ModerationActionEntity, RoundEntity, type GenerationQueuePort } from '@vca/core';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DiscordConnection } from '../../src/discord/discord-connection.service';
import { until, type BotTestEnv } from '../support/bot-test-env';
import { FakeDiscord, type FakeUser } from '../fakes/discord/fake-discord.server';
import { startPlatformBot } from '../fakes/platform-bot';

/**
 * The prompt block list and the daily quota on Discord: the real discord.js client against the
 * protocol-level fake, real PostgreSQL and Redis/BullMQ. No GPU worker: rounds stay queued,
 * which is all these checks need (what was stored and what was enqueued).
 */
describe('Discord block list and quota', () => {
  let fake: FakeDiscord;
  let bot: BotTestEnv;
  let ds: DataSource;
  let enqueue: ReturnType<typeof vi.spyOn>;
  let alice: FakeUser;
  let mod: FakeUser;

  beforeAll(async () => {
    fake = await FakeDiscord.start({ heartbeatIntervalMs: 500 });
    bot = await startPlatformBot('discord_safety', { CANDIDATES_PER_ROUND: '2', PROMPT_BLOCKLIST: 'gore', DAILY_ROUND_QUOTA: '1' }, {
      DISCORD_TOKEN: fake.token,
      DISCORD_APP_ID: fake.appId,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_MODERATOR_ROLE_ID: fake.moderatorRoleId,
      DISCORD_PROGRESS_EDIT_MS: '0',
    });
    await bot.app.get(DiscordConnection).whenReady();
    ds = bot.app.get(DataSource);
    enqueue = vi.spyOn(bot.app.get<GenerationQueuePort>(GENERATION_QUEUE), 'enqueue');
    alice = fake.user('alice');
    mod = fake.user('mod');
  });

  afterAll(async () => {
    await bot?.close();
    await fake?.close();
  });

  const modRoles = () => ({ roles: [fake.moderatorRoleId] });
  const botSays = (channelId: string, text: string) =>
    until(async () => fake.messagesIn(channelId).find((m) => m.author.id === fake.bot.id && m.content.includes(text)), `bot says "${text}" in ${channelId}`);
  const modCommand = (sub: string, options: unknown[] = []) =>
    fake.invokeCommand(mod, 'vca-mod', [{ name: sub, type: 1, options }], { roles: [fake.moderatorRoleId] });

  it('refuses a blocked /imagine prompt to its author alone, echoing it nowhere, and enqueues nothing; moderators manage the server\'s list', async () => {
    const block = modCommand('block', [
      { name: 'term', type: 3, value: 'Red Balloon' },
      { name: 'reason', type: 3, value: 'raid' },
    ]);
    await until(async () => block.original?.content.startsWith('Blocked "red balloon" here'), 'block answered');
    expect(block.ephemeral).toBe(true);
    // Not a moderator: refused, nothing changes.
    const refused = fake.invokeCommand(alice, 'vca-mod', [{ name: 'unblock', type: 1, options: [{ name: 'term', type: 3, value: 'red balloon' }] }]);
    await until(async () => refused.original?.content.includes('moderator role'), 'refusal');

    const imagine = fake.invokeCommand(alice, 'imagine', [{ name: 'prompt', type: 3, value: 'a RED balloon, over the sea' }]);
    await until(async () => imagine.original?.content.startsWith('⚠️ Your message contains a blocked term: "red balloon"'), 'ephemeral refusal');
    expect(imagine.ephemeral).toBe(true);
    expect(imagine.original!.content).toContain('a moderator can remove the term');
    // The global PROMPT_BLOCKLIST applies too, to a mention in a channel: answered there, no thread.
    fake.userPosts(alice, fake.channelId, `<@${fake.bot.id}> some gore please`);
    await botSays(fake.channelId, '⚠️ Your message contains a blocked term: "gore"');
    // No thread named after a blocked prompt, no intro quoting it.
    expect(fake.threads()).toHaveLength(0);
    expect(fake.messagesIn(fake.channelId).filter((m) => m.author.id === fake.bot.id && /balloon/i.test(m.content))).toEqual([]);
    expect(await ds.getRepository(RoundEntity).count()).toBe(0);
    expect(enqueue).not.toHaveBeenCalled();

    const list = modCommand('blocklist');
    await until(async () => list.original?.content.includes('Blocked here: `red balloon`'), 'blocklist');
    expect(list.original!.content).toContain('Blocked everywhere (configuration): `gore`');

    const audit = await ds.getRepository(ModerationActionEntity).find({ order: { id: 'ASC' } });
    expect(audit.map((a) => [a.action, a.moderatorId, a.targetId, a.details['term']])).toEqual([
      ['block_term', `discord:${mod.id}`, `discord:${fake.guildId}`, 'red balloon'],
    ]);
  });

  it('lets a moderator\'s own prompt through; blocked feedback in a dialogue thread is answered there', async () => {
    fake.invokeCommand(mod, 'imagine', [{ name: 'prompt', type: 3, value: 'a red balloon over the sea' }], modRoles());
    const thread = await until(async () => fake.threads()[0], 'moderator thread');
    await until(async () => (await ds.getRepository(RoundEntity).count()) === 1, 'moderator round stored');
    expect(enqueue).toHaveBeenCalledTimes(1);

    // Alice's feedback in that thread: refused in the thread, before the in-flight check.
    fake.userPosts(alice, thread.id, 'add a second red balloon');
    await botSays(thread.id, '⚠️ Your message contains a blocked term: "red balloon"');
    expect(await ds.getRepository(RoundEntity).count()).toBe(1);
    expect(enqueue).toHaveBeenCalledTimes(1);
    // The moderator's own feedback is not blocked (it waits for the round in flight instead).
    fake.userPosts(mod, thread.id, 'add a second red balloon', modRoles());
    await botSays(thread.id, 'Please wait: the current round is still being generated.');
    expect(await ds.getRepository(RoundEntity).count()).toBe(1);

    const unblock = modCommand('unblock', [{ name: 'term', type: 3, value: 'red balloon' }]);
    await until(async () => unblock.original?.content === 'Unblocked "red balloon" here.', 'unblock answered');
    const again = modCommand('unblock', [{ name: 'term', type: 3, value: 'gore' }]);
    await until(async () => again.original?.content.includes('blocked for every server'), 'global term explained');
  });

  it('holds members to DAILY_ROUND_QUOTA, says when the next round frees, and answers /quota', async () => {
    fake.invokeCommand(alice, 'imagine', [{ name: 'prompt', type: 3, value: 'a calm sea at dawn' }]);
    await until(async () => (await ds.getRepository(RoundEntity).count()) === 2, 'alice round stored');

    const quota = fake.invokeCommand(alice, 'quota', []);
    await until(async () => quota.original?.content.includes('You asked for 1 round of your 1 in the last 24 hours; 0 rounds left.'), '/quota answered');
    expect(quota.ephemeral).toBe(true);
    expect(quota.original!.content).toMatch(/Your next round frees at \d\d:\d\d UTC|Your next round frees at \d{4}-/);

    // Over the quota: answered to alice alone, before any thread or intro is opened for it.
    const threadsBefore = fake.threads().length;
    const over = fake.invokeCommand(alice, 'imagine', [{ name: 'prompt', type: 3, value: 'a stormy sea' }]);
    await until(async () => over.original?.content.startsWith('⚠️ You have used your 1 round for the last 24 hours; your next round frees at'), 'quota refusal');
    expect(over.ephemeral).toBe(true);
    expect(fake.threads()).toHaveLength(threadsBefore);
    expect(fake.messagesIn(fake.channelId).filter((m) => m.author.id === fake.bot.id && /stormy/i.test(m.content))).toEqual([]);
    expect(await ds.getRepository(RoundEntity).count()).toBe(2);

    // Moderators are exempt (the moderator already has a round today).
    const modQuota = fake.invokeCommand(mod, 'quota', [], modRoles());
    await until(async () => modQuota.original?.content.includes('As a moderator you are not held to the limit.'), 'moderator /quota');
  });
});
