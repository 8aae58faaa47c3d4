import { FeedbackEventEntity, RoundEntity } from '@vca/core';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackConnection } from '../../src/slack/slack-connection.service';
import { until, type BotTestEnv } from '../support/bot-test-env';
import { startRealGpuServer, type RealGpuServer } from '../support/gpu-server.real';
import { FakeSlack } from '../fakes/slack/fake-slack.server';
import { startPlatformBot } from '../fakes/platform-bot';

/**
 * The same bot over Socket Mode (SLACK_APP_TOKEN): apps.connections.open on the fake, events,
 * commands and button clicks as envelopes on its WebSocket, each acknowledged by envelope id.
 */
describe('Slack adapter over Socket Mode', () => {
  let fake: FakeSlack;
  let bot: BotTestEnv;
  let gpu: RealGpuServer;
  let ds: DataSource;

  beforeAll(async () => {
    fake = await FakeSlack.start();
    fake.socketMode = true;
    bot = await startPlatformBot('slacksm', { CANDIDATES_PER_ROUND: '2' }, {
      SLACK_BOT_TOKEN: fake.token,
      SLACK_APP_TOKEN: fake.appToken,
      SLACK_API_URL: fake.apiUrl,
      SLACK_PROGRESS_EDIT_MS: '0',
    });
    gpu = await startRealGpuServer(bot);
    await bot.app.get(SlackConnection).whenReady();
    await fake.socketConnected();
    ds = bot.app.get(DataSource);
  });

  afterAll(async () => {
    await gpu?.close();
    await bot?.close();
    await fake?.close();
  });

  it('runs rounds from envelopes; a retried envelope (same event_id) adds no round; reactions become labels', async () => {
    const alice = fake.user('alice');
    const bob = fake.user('bob');
    expect(fake.calls).toContain('apps.connections.open');
    expect((await fake.command(alice, '/imagine', 'a red circle on a blue square')).status).toBe(200);
    const starter = await until(async () => fake.messages.find((m) => m.bot_id === fake.botId && !m.thread_ts), 'starter');
    const results = () => fake.threadReplies(starter.ts).filter((m) => m.blocks.some((b) => b['type'] === 'image'));
    const r1 = await until(async () => results()[0], 'result 1', 60_000);

    const reply = await fake.userPosts(alice, 'make the circle green', starter.ts);
    await until(async () => results()[1], 'result 2', 60_000);
    await fake.deliver(reply.deliveries[0]!, { retryNum: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await ds.getRepository(RoundEntity).count()).toBe(2);

    await fake.react(bob, r1, 'two');
    await until(() => ds.getRepository(FeedbackEventEntity).findOneBy({ source: 'reaction', signal: 'up' }), 'reaction label');
  });
});
