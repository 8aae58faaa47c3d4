import { FeedbackEventEntity, ModerationActionEntity, RoundEntity } from '@vca/core';
import { DataSource, IsNull, Not } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordConnection } from '../../src/discord/discord-connection.service';
import { SlackConnection } from '../../src/slack/slack-connection.service';
import { SlackRoundMessages } from '../../src/slack/slack-round-messages.service';
import { until, type BotTestEnv } from '../support/bot-test-env';
import { startRealGpuServer, type RealGpuServer } from '../support/gpu-server.real';
import { FakeSlack, type FakeSlackMessage, type SlackUser } from '../fakes/slack/fake-slack.server';
import { startPlatformBot } from '../fakes/platform-bot';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

/**
 * Issue 6 end to end on Slack: the real Bolt app (HTTP receiver) against the protocol-level fake
 * Web API and signed Events API, real PostgreSQL, Redis/BullMQ and the real GPU server.
 */
describe('Slack adapter end to end', () => {
  let fake: FakeSlack;
  let bot: BotTestEnv;
  let gpu: RealGpuServer;
  let ds: DataSource;
  let alice: SlackUser;
  let bob: SlackUser;
  let mod: SlackUser;
  let threadTs: string;

  beforeAll(async () => {
    fake = await FakeSlack.start();
    alice = fake.user('alice');
    bob = fake.user('bob');
    mod = fake.user('mod');
    fake.moderators.add(mod.id);
    bot = await startPlatformBot('slack', { CANDIDATES_PER_ROUND: '2' }, {
      SLACK_BOT_TOKEN: fake.token,
      SLACK_SIGNING_SECRET: fake.signingSecret,
      SLACK_API_URL: fake.apiUrl,
      SLACK_MODERATOR_GROUP_ID: fake.moderatorGroup,
      SLACK_PORT: '0',
      SLACK_HOST: '127.0.0.1',
      SLACK_PROGRESS_EDIT_MS: '0',
      // Discord configured but unreachable: its adapter keeps retrying while Slack serves (item 3).
      DISCORD_TOKEN: 'unreachable-token',
      DISCORD_APP_ID: '100000000000000001',
      DISCORD_API_BASE: 'http://127.0.0.1:9/api',
      DISCORD_RETRY_BASE_MS: '1000',
    });
    gpu = await startRealGpuServer(bot);
    const connection = bot.app.get(SlackConnection);
    await connection.whenReady();
    fake.eventsUrl = `http://127.0.0.1:${connection.port}/slack/events`;
    ds = bot.app.get(DataSource);
  });

  it('serves Slack while the Discord adapter cannot connect', async () => {
    expect((await fetch(`${bot.baseUrl}/health`)).status).toBeLessThan(500);
    expect(bot.app.get(DiscordConnection).enabled).toBe(true);
    const discordReady = await Promise.race([bot.app.get(DiscordConnection).whenReady().then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]);
    expect(discordReady).toBe(false);
  });

  afterAll(async () => {
    await gpu?.close();
    await bot?.close();
    await fake?.close();
  });

  const botReplies = (ts: string) => fake.threadReplies(ts).filter((m) => m.bot_id === fake.botId);
  const results = (ts: string) => botReplies(ts).filter((m) => m.blocks.some((b) => b['type'] === 'image'));
  const result = (n: number) => until(async () => results(threadTs)[n - 1], `result ${n}`, 60_000);
  const actionIds = (m: FakeSlackMessage) => m.blocks.flatMap((b) => ((b['elements'] as Array<{ action_id?: string }> | undefined) ?? []).map((e) => e.action_id ?? ''));
  const imageIds = (m: FakeSlackMessage) => actionIds(m).filter((a) => a.startsWith('vca:up:')).map((a) => a.split(':')[2]!);
  const slackFiles = (m: FakeSlackMessage) => m.blocks.filter((b) => b['type'] === 'image').map((b) => (b['slack_file'] as { id: string }).id);

  it('runs a three-round dialogue in a thread: /imagine, a thread reply, a mention in the thread', async () => {
    expect((await fake.command(alice, '/imagine', 'a red circle on a blue square')).status).toBe(200);
    const starter = await until(async () => fake.messages.find((m) => m.bot_id === fake.botId && !m.thread_ts), 'starter message');
    threadTs = starter.ts;

    const r1 = await result(1);
    expect(botReplies(threadTs)[0]!.ts).toBe(r1.ts); // the working message became the result
    expect(r1.history[0]).toMatch(/Round 1\* — queued/);
    expect(r1.history.some((t) => /step \d+\/4/.test(t))).toBe(true);
    const files = slackFiles(r1).map((id) => fake.files.get(id)!);
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(f.completed).toBe(true);
      expect([...f.data!.subarray(0, 4)]).toEqual(PNG_SIGNATURE);
    }
    await until(async () => r1.reactions.length === 2, 'number reactions');
    expect(r1.reactions.map((r) => r.name)).toEqual(['one', 'two']);

    const [, second] = imageIds(r1);
    expect((await fake.clickButton(bob, r1, `vca:pick:${second}`)).status).toBe(200);
    await until(async () => fake.ephemerals.find((e) => e.user === bob.id && e.text.includes('recorded')), 'pick answered');

    await fake.userPosts(alice, 'make the circle green', threadTs);
    await result(2);
    expect((await ds.getRepository(RoundEntity).findOneByOrFail({ index: 2 })).parentImageId).toBe(second);

    // A mention inside the thread arrives as both `message` and `app_mention`: one round.
    const { statuses } = await fake.userPosts(alice, '@bot add a yellow triangle', threadTs);
    expect(statuses).toEqual([200, 200]);
    const r3 = await result(3);
    expect(r3.text).toContain('Round 3');
    expect(await ds.getRepository(RoundEntity).count()).toBe(3);
    expect(results(threadTs).map((m) => slackFiles(m).length)).toEqual([2, 2, 2]);
  });

  it('turns reactions and buttons into labels, removal revokes, and a retried delivery adds nothing', async () => {
    const r1 = results(threadTs)[0]!;
    const [first, second] = imageIds(r1);
    const events = ds.getRepository(FeedbackEventEntity);

    const added = fake.reactionDelivery('reaction_added', bob, r1, 'one');
    expect((await fake.deliver(added)).status).toBe(200);
    const label = await until(() => events.findOneBy({ imageId: first, source: 'reaction' }), 'reaction label');
    expect((await fake.unreact(bob, r1, 'one')).status).toBe(200);
    await until(() => events.findOneBy({ id: label.id, revokedAt: Not(IsNull()) }), 'revoked');
    // Slack retries the (already handled) add with the same event_id: it must not re-add the label.
    expect((await fake.deliver(added, { retryNum: 1 })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await events.countBy({ source: 'reaction' })).toBe(1);
    expect(await events.countBy({ source: 'reaction', revokedAt: IsNull() })).toBe(0);

    // A retried thread message does not start a second round.
    const rounds = await ds.getRepository(RoundEntity).count();
    const posted = await fake.userPosts(alice, 'make it bigger', threadTs);
    await until(async () => (await ds.getRepository(RoundEntity).count()) === rounds + 1, 'round 4');
    expect((await fake.deliver(posted.deliveries[0]!, { retryNum: 1 })).status).toBe(200);
    expect((await fake.deliver(posted.deliveries[0]!, { retryNum: 2 })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await ds.getRepository(RoundEntity).count()).toBe(rounds + 1);
    expect(botReplies(threadTs).filter((m) => m.text.includes(':warning:'))).toHaveLength(0);

    // As after a restart: the adapter reads the result back (conversations.replies) to map :two:.
    (bot.app.get(SlackRoundMessages) as unknown as { resultImages: Map<string, string[]> }).resultImages.clear();
    await fake.react(alice, r1, 'two');
    await until(() => events.findOneBy({ imageId: second, source: 'reaction' }), 'reaction label after restart');
    expect(fake.calls).toContain('conversations.replies');

    // Buttons toggle: 👎 then 👎 again takes it back.
    await fake.clickButton(alice, r1, `vca:down:${second}`);
    await until(() => events.findOneBy({ imageId: second, signal: 'down', revokedAt: IsNull() }), 'down');
    await fake.clickButton(alice, r1, `vca:down:${second}`);
    await until(() => events.findOneBy({ imageId: second, signal: 'down', revokedAt: Not(IsNull()) }), 'down revoked');
    expect(await events.countBy({ imageId: second, signal: 'down' })).toBe(1);
    await fake.clickButton(alice, r1, `vca:tie:${first}`);
    await until(() => events.findOneBy({ imageId: first, signal: 'tie', source: 'button' }), 'tie');
  });

  it('rerolls a round and varies a candidate from their buttons, in the same thread; a redelivered click adds no round', async () => {
    const rounds = ds.getRepository(RoundEntity);
    await until(async () => (await rounds.findOneBy({ index: 4 }))?.status === 'completed' && results(threadTs).length >= 4, 'round 4 posted', 60_000);
    const r4 = results(threadTs)[3]!;
    const round4 = await rounds.findOneByOrFail({ index: 4 });
    expect(actionIds(r4)).toContain(`vca:reroll:${round4.id}`);

    const click = fake.buttonDelivery(bob, r4, `vca:reroll:${round4.id}`);
    expect((await fake.deliver(click)).status).toBe(200);
    await until(async () => fake.ephemerals.find((e) => e.user === bob.id && e.text.includes('Rerolling as round 5')), 'reroll answered');
    // The same payload delivered again: no second round, no second working message.
    expect((await fake.deliver(click)).status).toBe(200);
    // Both deliveries were answered, the second with the round the first one made.
    await until(async () => fake.ephemerals.filter((e) => e.user === bob.id && e.text.includes('Rerolling as round 5')).length === 2, 'second delivery answered');
    const r5 = await result(5);
    expect(r5.thread_ts).toBe(threadTs);
    expect(r5.text).toContain('Round 5');
    expect(r5.blocks.some((b) => JSON.stringify(b).includes('reroll'))).toBe(true);
    const round5 = await rounds.findOneByOrFail({ index: 5 });
    expect(round5).toMatchObject({ origin: 'reroll', sourceRoundId: round4.id, parentImageId: round4.parentImageId, refinedPrompt: round4.refinedPrompt });

    const chosen = imageIds(r5)[0]!;
    const vary = fake.buttonDelivery(alice, r5, `vca:vary:${chosen}`);
    expect((await fake.deliver(vary)).status).toBe(200);
    expect((await fake.deliver(vary)).status).toBe(200);
    await result(6);
    expect(await rounds.findOneByOrFail({ index: 6 })).toMatchObject({ origin: 'vary', parentImageId: chosen, userText: '(vary #1)' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await rounds.count()).toBe(6);
    expect(results(threadTs)).toHaveLength(6);
    expect(botReplies(threadTs).filter((m) => !m.blocks.some((b) => b['type'] === 'image'))).toHaveLength(0);
  });

  it('tells the user to invite the bot when /imagine comes from a channel it is not in', async () => {
    await fake.command(alice, '/imagine', 'a green triangle', 'C0ELSEWHERE');
    const answer = await until(async () => fake.responses.find((r) => String(r['text']).includes('not_in_channel')), 'ephemeral answer');
    expect(answer['response_type']).toBe('ephemeral');
  });

  it('answers forged and stale signatures with 401 and acts on neither', async () => {
    const before = fake.messages.length;
    const forged = fake.eventDelivery({ type: 'app_mention', user: alice.id, text: `<@${fake.botUserId}> forged`, ts: '1.000001', channel: fake.channel, event_ts: '1.000001' });
    expect((await fake.deliver(forged, { secret: 'not-the-secret' })).status).toBe(401);
    const stale = fake.eventDelivery({ type: 'app_mention', user: alice.id, text: `<@${fake.botUserId}> stale`, ts: '1.000002', channel: fake.channel, event_ts: '1.000002' });
    expect((await fake.deliver(stale, { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.messages.length).toBe(before);
  });

  it('refuses /vca-mod outside the moderator group, ephemerally, and serves moderators', async () => {
    await fake.command(bob, '/vca-mod', `ban <@${alice.id}|alice> spam`);
    const refusal = await until(async () => fake.responses.find((r) => String(r['text']).includes('moderator group')), 'refusal');
    expect(refusal['response_type']).toBe('ephemeral');
    expect(await ds.getRepository(ModerationActionEntity).count()).toBe(0);

    await fake.command(mod, '/vca-mod', 'review 5');
    await until(async () => fake.responses.find((r) => String(r['text']).includes(' pick on #2')), 'review');

    await fake.command(mod, '/vca-mod', 'export pairs');
    await until(async () => fake.responses.find((r) => String(r['text']).includes('direct messages')), 'export answer');
    const file = [...fake.files.values()].find((f) => f.filename === 'pairs.jsonl')!;
    expect(file.channel).toBe(`D${mod.id.slice(1)}`);
    expect(await ds.getRepository(ModerationActionEntity).count()).toBeGreaterThan(0);
  });
});
