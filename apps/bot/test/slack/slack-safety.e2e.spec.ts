import { GENERATION_QUEUE, ModerationActionEntity, RoundEntity, type GenerationQueuePort } from '@vca/core';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SlackConnection } from '../../src/slack/slack-connection.service';
import { parseSlackModCommand } from '../../src/slack/slack-mod-command.parser';
import { until, type BotTestEnv } from '../support/bot-test-env';
import { FakeSlack, type SlackUser } from '../fakes/slack/fake-slack.server';
import { startPlatformBot } from '../fakes/platform-bot';

/**
 * The prompt block list and /quota on Slack: the real Bolt app against the protocol-level fake,
 * real PostgreSQL and Redis/BullMQ; no GPU worker (rounds stay queued).
 */
describe('Slack block list and quota', () => {
  let fake: FakeSlack;
  let bot: BotTestEnv;
  let ds: DataSource;
  let enqueue: ReturnType<typeof vi.spyOn>;
  let alice: SlackUser;
  let mod: SlackUser;

  beforeAll(async () => {
    fake = await FakeSlack.start();
    alice = fake.user('alice');
    mod = fake.user('mod');
    fake.moderators.add(mod.id);
    bot = await startPlatformBot('slack_safety', { PROMPT_BLOCKLIST: 'gore' }, {
      SLACK_BOT_TOKEN: fake.token,
      SLACK_SIGNING_SECRET: fake.signingSecret,
      SLACK_API_URL: fake.apiUrl,
      SLACK_MODERATOR_GROUP_ID: fake.moderatorGroup,
      SLACK_PORT: '0',
      SLACK_HOST: '127.0.0.1',
      SLACK_PROGRESS_EDIT_MS: '0',
    });
    const connection = bot.app.get(SlackConnection);
    await connection.whenReady();
    fake.eventsUrl = `http://127.0.0.1:${connection.port}/slack/events`;
    ds = bot.app.get(DataSource);
    enqueue = vi.spyOn(bot.app.get<GenerationQueuePort>(GENERATION_QUEUE), 'enqueue');
  });

  afterAll(async () => {
    await bot?.close();
    await fake?.close();
  });

  const response = (text: string) => until(async () => fake.responses.find((r) => String(r['text']).includes(text)), `response "${text}"`);
  const starterOf = (prompt: string) => until(async () => fake.messages.find((m) => m.bot_id === fake.botId && !m.thread_ts && m.text.includes(prompt)), `starter of ${prompt}`);
  const botReply = (threadTs: string, text: string) =>
    until(async () => fake.threadReplies(threadTs).find((m) => m.bot_id === fake.botId && m.text.includes(text)), `reply "${text}"`);

  it('parses the block-list verbs of /vca-mod', () => {
    expect(parseSlackModCommand('block red  balloon')).toEqual({ kind: 'block', term: 'red balloon' });
    expect(parseSlackModCommand('unblock Red Balloon')).toEqual({ kind: 'unblock', term: 'Red Balloon' });
    expect(parseSlackModCommand('blocklist')).toEqual({ kind: 'blocklist' });
  });

  it('refuses a blocked /imagine to its author alone and enqueues nothing; a moderator\'s prompt goes through', async () => {
    await fake.command(alice, '/vca-mod', 'block red balloon');
    await response('moderator group');
    await fake.command(mod, '/vca-mod', 'block Red Balloon');
    await response('Blocked "red balloon" here');

    await fake.command(alice, '/imagine', 'two red balloons? no, one red balloon');
    const refusal = await response(':warning: Your message contains a blocked term: "red balloon"');
    expect(refusal['response_type']).toBe('ephemeral');
    // No starter message quoting the blocked prompt.
    expect(fake.messages.filter((m) => m.bot_id === fake.botId && m.text.includes('one red balloon'))).toEqual([]);
    // A mention starting a dialogue is answered in its thread.
    const mention = await fake.userPosts(alice, '@bot a red balloon at night');
    await botReply(mention.ts, ':warning: Your message contains a blocked term: "red balloon"');
    expect(await ds.getRepository(RoundEntity).count()).toBe(0);
    expect(enqueue).not.toHaveBeenCalled();

    // The moderator group is asked only now that a term matched: the moderator's prompt is stored.
    await fake.command(mod, '/imagine', 'a red balloon over the bay');
    const modStarter = await starterOf('over the bay');
    await until(async () => (await ds.getRepository(RoundEntity).count()) === 1, 'moderator round');
    expect(enqueue).toHaveBeenCalledTimes(1);

    // Feedback with a global term in that thread is answered there.
    await fake.userPosts(alice, 'now add some gore', modStarter.ts);
    await botReply(modStarter.ts, 'blocked term: "gore"');

    await fake.command(mod, '/vca-mod', 'blocklist');
    await response('Blocked here: `red balloon`');
    await fake.command(mod, '/vca-mod', 'unblock red balloon');
    await response('Unblocked "red balloon" here.');
    const audit = await ds.getRepository(ModerationActionEntity).find({ order: { id: 'ASC' } });
    expect(audit.map((a) => [a.action, a.moderatorId, a.targetId])).toEqual([
      ['block_term', `slack:${mod.id}`, `slack:${fake.teamId}`],
      ['unblock_term', `slack:${mod.id}`, `slack:${fake.teamId}`],
    ]);
  });

  it('answers /quota ephemerally', async () => {
    await fake.command(alice, '/quota', '');
    const answer = await response('No daily limit here. You asked for 0 rounds in the last 24 hours.');
    expect(answer['response_type']).toBe('ephemeral');
  });
});
