import { ConversationService, FeedbackEventEntity, FeedbackService, ModerationActionEntity, RaterEntity, RoundEntity } from '@vca/core';
import { DataSource, IsNull, Not } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DiscordConnection } from '../../src/discord/discord-connection.service';
import { DiscordRoundMessages } from '../../src/discord/discord-round-messages.service';
import { until, type BotTestEnv } from '../support/bot-test-env';
import { startRealGpuServer, type RealGpuServer } from '../support/gpu-server.real';
import { FakeDiscord, type FakeMessage, type FakeUser } from '../fakes/discord/fake-discord.server';
import { startPlatformBot } from '../fakes/platform-bot';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

/**
 * Issue 6 end to end on Discord: the real discord.js client against the protocol-level fake,
 * real PostgreSQL, Redis/BullMQ and the real GPU server on the fixture model.
 */
describe('Discord adapter end to end', () => {
  let fake: FakeDiscord;
  let bot: BotTestEnv;
  let gpu: RealGpuServer;
  let ds: DataSource;
  let alice: FakeUser;
  let bob: FakeUser;

  beforeAll(async () => {
    fake = await FakeDiscord.start({ heartbeatIntervalMs: 500 });
    bot = await startPlatformBot('discord', { CANDIDATES_PER_ROUND: '2' }, {
      DISCORD_TOKEN: fake.token,
      DISCORD_APP_ID: fake.appId,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_MODERATOR_ROLE_ID: fake.moderatorRoleId,
      DISCORD_PROGRESS_EDIT_MS: '0',
    });
    gpu = await startRealGpuServer(bot);
    await bot.app.get(DiscordConnection).whenReady();
    ds = bot.app.get(DataSource);
    alice = fake.user('alice');
    bob = fake.user('bob');
  });

  afterAll(async () => {
    await gpu?.close();
    await bot?.close();
    await fake?.close();
  });

  const botMessages = (channelId: string) => fake.messagesIn(channelId).filter((m) => m.author.id === fake.bot.id);
  const results = (threadId: string) => botMessages(threadId).filter((m) => m.attachments.length > 0 && m.components.length > 0);
  const resultCount = (threadId: string, n: number) => until(async () => (results(threadId).length >= n ? results(threadId)[n - 1] : null), `result ${n}`, 60_000);
  const customIds = (m: FakeMessage) => m.components.flatMap((row) => row.components.map((c) => c.custom_id ?? ''));
  const imageIds = (m: FakeMessage) => customIds(m).filter((id) => id.startsWith('vca:up:')).map((id) => id.split(':')[2]!);

  it('runs a three-round dialogue in a thread: /imagine, thread replies, a gateway RESUME and a deleted working message', async () => {
    const imagine = fake.invokeCommand(alice, 'imagine', [{ name: 'prompt', type: 3, value: 'a red circle on a blue square' }]);
    const thread = await until(async () => fake.threads()[0], 'thread');
    // Acknowledged within Discord's 3 s window; the thread hangs on the command's answer.
    expect(imagine.callbackType).toBe(5);
    expect(imagine.callbackAt! - imagine.dispatchedAt).toBeLessThan(3000);
    expect(thread.id).toBe(imagine.original!.id);

    const r1 = await resultCount(thread.id, 1);
    // The working message became the result: it is the first thing the bot posted in the thread.
    expect(botMessages(thread.id)[0]!.id).toBe(r1.id);
    // Queue position / progress edited the working message in place before it became the result.
    expect(r1.history![0]).toMatch(/^⏳ \*\*Round 1\*\* — queued/);
    expect(r1.history!.some((c) => /step \d+\/4/.test(c))).toBe(true);
    expect(r1.history!.at(-1)).toContain('**Round 1**');
    expect(r1.attachments).toHaveLength(2);
    expect([...fake.file(r1.attachments[0]!).subarray(0, 4)]).toEqual(PNG_SIGNATURE);
    expect(r1.content).toContain('a red circle on a blue square');
    await until(async () => r1.reactions?.length === 2, 'number reactions');
    expect(r1.reactions!.map((r) => r.emoji.name)).toEqual(['1️⃣', '2️⃣']);
    const [, second] = imageIds(r1);

    // Pick candidate 2 with a button: round 2 is img2img from it.
    const pick = fake.clickButton(bob, r1.id, `vca:pick:${second}`);
    await until(async () => pick.original?.content.includes('recorded'), 'pick answered');
    expect(pick.ephemeral).toBe(true);

    fake.userPosts(alice, thread.id, 'make the circle green');
    const r2 = await resultCount(thread.id, 2);
    const round2 = await ds.getRepository(RoundEntity).findOneByOrFail({ index: 2 });
    expect(round2.parentImageId).toBe(second);

    // The gateway drops; a reply sent meanwhile is replayed on RESUME and becomes round 3,
    // whose working message a moderator deletes at once: the result is posted anew.
    fake.gateway.disconnect();
    fake.userPosts(alice, thread.id, 'add a yellow triangle');
    const deleteWorking = setInterval(() => {
      for (const m of botMessages(thread.id)) if (m.id !== r1.id && m.id !== r2.id && m.attachments.length === 0) fake.deleteMessage(m.id);
    }, 5);
    try {
      await fake.gateway.waitFor(() => fake.gateway.stats.resumes === 1);
      const r3 = await resultCount(thread.id, 3);
      expect(r3.content).toContain('Round 3');
    } finally {
      clearInterval(deleteWorking);
    }
    expect(fake.gateway.stats.identifies).toBe(1);
    expect(fake.deleted.size).toBeGreaterThan(0);
    expect(results(thread.id).map((m) => m.attachments.length)).toEqual([2, 2, 2]);
    expect(fake.messagesIn(fake.channelId).filter((m) => m.author.id === fake.bot.id)).toHaveLength(1); // only the /imagine answer
  });

  it('rerolls a round and varies a candidate from their buttons, in the same thread; a redelivered interaction adds no round', async () => {
    const thread = fake.threads()[0]!;
    const r3 = results(thread.id)[2]!;
    expect(customIds(r3)).toContain(`vca:reroll:${(await ds.getRepository(RoundEntity).findOneByOrFail({ index: 3 })).id}`);
    const round3 = await ds.getRepository(RoundEntity).findOneByOrFail({ index: 3 });

    const rerolls = vi.spyOn(bot.app.get(ConversationService), 'reroll');
    const reroll = fake.clickButton(bob, r3.id, `vca:reroll:${round3.id}`);
    await until(async () => reroll.original?.content.includes('Rerolling as round 4'), 'reroll answered');
    expect(reroll.ephemeral).toBe(true);
    expect(reroll.callbackAt! - reroll.dispatchedAt).toBeLessThan(3000);
    // The same interaction delivered again: acknowledged already, and no second round.
    fake.redeliverInteraction(reroll);
    // The redelivery reached the core and was answered with the first round.
    await until(async () => rerolls.mock.results.length === 2 && rerolls.mock.settledResults.every((r) => r.type === 'fulfilled'), 'redelivery handled');
    const answers = await Promise.all(rerolls.mock.results.map((r) => r.value as ReturnType<ConversationService['reroll']>));
    expect(answers.map((a) => a.duplicate)).toEqual([false, true]);
    expect(answers[1]!.round.id).toBe(answers[0]!.round.id);
    rerolls.mockRestore();
    const r4 = await resultCount(thread.id, 4);
    expect(r4.content).toContain('**Round 4** · reroll');
    expect(r4.content).toContain(round3.refinedPrompt);
    const round4 = await ds.getRepository(RoundEntity).findOneByOrFail({ index: 4 });
    expect(round4).toMatchObject({ origin: 'reroll', sourceRoundId: round3.id, parentImageId: round3.parentImageId, userText: '(reroll)' });
    expect(round4.requesterId).toBe(bot.app.get(FeedbackService).raterIdOf('discord', bob.id));

    // Vary candidate 2 of round 4: round 5 is img2img from it, at low strengths.
    const chosen = imageIds(r4)[1]!;
    const vary = fake.clickButton(alice, r4.id, `vca:vary:${chosen}`);
    await until(async () => vary.original?.content.includes('as round 5'), 'vary answered');
    fake.redeliverInteraction(vary);
    const r5 = await resultCount(thread.id, 5);
    expect(r5.content).toContain('variation of #2');
    const round5 = await ds.getRepository(RoundEntity).findOneByOrFail({ index: 5 });
    expect(round5).toMatchObject({ origin: 'vary', parentImageId: chosen, mode: 'img2img' });
    expect(round5.candidates.every((c) => c.strength <= 0.4)).toBe(true);
    // Give a stray second round time to appear, then count: one working message per round.
    await new Promise((r) => setTimeout(r, 300));
    expect(await ds.getRepository(RoundEntity).countBy({ dialogueId: round3.dialogueId })).toBe(5);
    expect(results(thread.id)).toHaveLength(5);
    expect(botMessages(thread.id).filter((m) => m.attachments.length === 0 && !fake.deleted.has(m.id))).toHaveLength(0);
  });

  it('turns reactions and buttons into labels; removing a reaction or clicking again revokes', async () => {
    const thread = fake.threads()[0]!;
    const r1 = results(thread.id)[0]!;
    const [first, second] = imageIds(r1);
    const events = ds.getRepository(FeedbackEventEntity);

    fake.react(bob, r1.id, '1️⃣');
    const reaction = await until(() => events.findOneBy({ imageId: first, source: 'reaction', signal: 'up' }), 'reaction label');
    expect(reaction.revokedAt).toBeNull();
    fake.unreact(bob, r1.id, '1️⃣');
    await until(() => events.findOneBy({ id: reaction.id, revokedAt: Not(IsNull()) }), 'reaction revoked');

    // As after a restart: the adapter no longer remembers the result; it reads the buttons back.
    (bot.app.get(DiscordRoundMessages) as unknown as { resultImages: Map<string, string[]> }).resultImages.clear();
    fake.react(alice, r1.id, '2️⃣');
    await until(() => events.findOneBy({ imageId: second, source: 'reaction', signal: 'up' }), 'reaction label after restart');
    fake.unreact(alice, r1.id, '2️⃣');
    await until(() => events.findOneBy({ imageId: second, source: 'reaction', revokedAt: Not(IsNull()) }), 'revoked after restart');

    const down = fake.clickButton(alice, r1.id, `vca:down:${second}`);
    await until(async () => down.original?.content.includes('recorded'), 'down answered');
    const again = fake.clickButton(alice, r1.id, `vca:down:${second}`);
    await until(async () => again.original?.content.includes('taken back'), 'down taken back');
    const tie = fake.clickButton(alice, r1.id, `vca:tie:${first}`);
    await until(async () => tie.original?.content.includes('recorded'), 'tie answered');
    expect(await events.countBy({ imageId: first, signal: 'tie', source: 'button' })).toBe(1);
    const downs = await events.findBy({ imageId: second, signal: 'down' });
    expect(downs).toHaveLength(1);
    expect(downs[0]!.revokedAt).not.toBeNull();
    // Nothing is ever deleted: the revoked reaction label is still there.
    expect(await events.countBy({ source: 'reaction' })).toBe(2);
  });

  it('a mention starts a dialogue in a thread on that message; an expired interaction still starts one', async () => {
    const mention = fake.userPosts(bob, fake.channelId, `<@${fake.bot.id}> a green triangle`);
    await until(async () => fake.channels.has(mention.id) && botMessages(mention.id).length > 0, 'thread on the mention');

    fake.interactionDeadlineMs = 0;
    try {
      const late = fake.invokeCommand(alice, 'imagine', [{ name: 'prompt', type: 3, value: 'a blue square' }]);
      const starter = await until(async () => fake.messagesIn(fake.channelId).find((m) => m.author.id === fake.bot.id && m.content.includes('a blue square')), 'plain post');
      await until(async () => fake.channels.has(starter.id) && botMessages(starter.id).length > 0, 'thread on the plain post');
      expect(late.callbackType).toBeNull();
    } finally {
      fake.interactionDeadlineMs = 3000;
    }
  });

  it('refuses moderation commands to non-moderators, ephemerally, and serves moderators', async () => {
    const refused = fake.invokeCommand(bob, 'vca-mod', [{ name: 'ban', type: 1, options: [{ name: 'user', type: 6, value: alice.id }, { name: 'reason', type: 3, value: 'spam' }] }]);
    await until(async () => refused.original?.content.includes('moderator role'), 'refusal');
    expect(refused.ephemeral).toBe(true);
    expect(await ds.getRepository(ModerationActionEntity).count()).toBe(0);

    const review = fake.invokeCommand(alice, 'vca-mod', [{ name: 'review', type: 1, options: [] }], { roles: [fake.moderatorRoleId] });
    await until(async () => review.original?.content.includes('pick'), 'review');
    expect(review.ephemeral).toBe(true);

    const exported = fake.invokeCommand(alice, 'vca-mod', [{ name: 'export', type: 1, options: [{ name: 'format', type: 3, value: 'pairs' }] }], { roles: [fake.moderatorRoleId] });
    const file = await until(async () => exported.original?.attachments.find((a) => a.filename === 'pairs.jsonl'), 'export file');
    expect(exported.original!.content).toMatch(/Exported \d+ preference pair/);
    for (const line of fake.file(file).toString().trim().split('\n').filter(Boolean)) expect(JSON.parse(line)).toHaveProperty('label_0');
    expect(await ds.getRepository(ModerationActionEntity).count()).toBeGreaterThan(0);

    const modRoles = { roles: [fake.moderatorRoleId] };
    const ban = fake.invokeCommand(alice, 'vca-mod', [{ name: 'ban', type: 1, options: [{ name: 'user', type: 6, value: bob.id }, { name: 'reason', type: 3, value: 'spam' }] }], modRoles);
    await until(async () => ban.original?.content.startsWith('Banned rater'), 'ban');
    const raterId = bot.app.get(FeedbackService).raterIdOf('discord', bob.id);
    expect((await ds.getRepository(RaterEntity).findOneByOrFail({ id: raterId })).banned).toBe(true);
    // A banned rater's clicks are refused with the core's message, ephemerally.
    const r1 = results(fake.threads()[0]!.id)[0]!;
    const refusedClick = fake.clickButton(bob, r1.id, `vca:up:${imageIds(r1)[0]}`);
    await until(async () => refusedClick.original?.content.startsWith('⚠️'), 'banned click answered');
    const unban = fake.invokeCommand(alice, 'vca-mod', [{ name: 'unban', type: 1, options: [{ name: 'user', type: 6, value: bob.id }] }], modRoles);
    await until(async () => unban.original?.content.startsWith('Unbanned'), 'unban');
    expect((await ds.getRepository(RaterEntity).findOneByOrFail({ id: raterId })).banned).toBe(false);

    const retrain = fake.invokeCommand(alice, 'vca-mod', [{ name: 'retrain', type: 1, options: [] }], modRoles);
    await until(async () => retrain.original?.content.startsWith('Training run requested'), 'retrain');
  });
});
