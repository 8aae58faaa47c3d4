import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordConnection } from '../src/discord/discord-connection.service';
import { SlackConnection } from '../src/slack/slack-connection.service';
import { FakeDiscord } from './fakes/discord/fake-discord.server';
import { startPlatformBot } from './fakes/platform-bot';
import { FakeSlack } from './fakes/slack/fake-slack.server';
import { until, type BotTestEnv } from './support/bot-test-env';
import { startRealGpuServer, type RealGpuServer } from './support/gpu-server.real';

/**
 * Reward scores in the Discord and Slack round messages: the real discord.js and Bolt clients
 * against the protocol-level fakes, the real GPU server on the shipped default model (whose dual
 * encoder scores every round; no trained version, so no "scored by" line).
 */
describe('round messages show reward scores on Discord and Slack', () => {
  let discord: FakeDiscord;
  let slack: FakeSlack;
  let bot: BotTestEnv;
  let gpu: RealGpuServer;

  beforeAll(async () => {
    discord = await FakeDiscord.start({ heartbeatIntervalMs: 500 });
    slack = await FakeSlack.start();
    bot = await startPlatformBot('pscores', { CANDIDATES_PER_ROUND: '2', GUIDANCE_SCALE: '2.5' }, {
      DISCORD_TOKEN: discord.token,
      DISCORD_APP_ID: discord.appId,
      DISCORD_API_BASE: discord.apiBase,
      DISCORD_PROGRESS_EDIT_MS: '0',
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: slack.signingSecret,
      SLACK_API_URL: slack.apiUrl,
      SLACK_PORT: '0',
      SLACK_HOST: '127.0.0.1',
      SLACK_PROGRESS_EDIT_MS: '0',
    });
    gpu = await startRealGpuServer(bot, { modelDir: 'models/default' });
    await bot.app.get(DiscordConnection).whenReady();
    const connection = bot.app.get(SlackConnection);
    await connection.whenReady();
    slack.eventsUrl = `http://127.0.0.1:${connection.port}/slack/events`;
  });
  afterAll(async () => {
    await gpu?.close();
    await bot?.close();
    await slack?.close();
    await discord?.close();
  });

  const scoresIn = (text: string) => [...text.matchAll(/★ (-?\d\.\d\d)/g)].map((m) => Number(m[1]));

  it('Discord: each candidate line carries "★ <score>", best first', async () => {
    discord.invokeCommand(discord.user('alice'), 'imagine', [{ name: 'prompt', type: 3, value: 'a red circle in the top left' }]);
    const thread = await until(async () => discord.threads()[0], 'thread');
    const result = await until(
      async () => discord.messagesIn(thread.id).find((m) => m.author.id === discord.bot.id && m.attachments.length > 0 && m.components.length > 0),
      'result',
      60_000,
    );
    const scores = scoresIn(result.content);
    expect(scores).toHaveLength(2);
    expect(scores[0]).toBeGreaterThanOrEqual(scores[1]!);
    expect(result.content).toMatch(/#1 ★ -?\d\.\d\d seed \d+/);
    expect(result.content).not.toContain('scored by');
  });

  it('Slack: each candidate image title carries "★ <score>", best first', async () => {
    expect((await slack.command(slack.user('bob'), '/imagine', 'a blue square in the middle')).status).toBe(200);
    const starter = await until(async () => slack.messages.find((m) => m.bot_id === slack.botId && !m.thread_ts), 'starter');
    const result = await until(
      async () => slack.threadReplies(starter.ts).find((m) => m.bot_id === slack.botId && m.blocks.some((b) => b['type'] === 'image')),
      'result',
      60_000,
    );
    const titles = result.blocks.filter((b) => b['type'] === 'image').map((b) => (b['title'] as { text: string }).text);
    expect(titles).toHaveLength(2);
    expect(titles[0]).toMatch(/^#1 · ★ -?\d\.\d\d · seed \d+/);
    const scores = titles.flatMap(scoresIn);
    expect(scores[0]).toBeGreaterThanOrEqual(scores[1]!);
  });
});
