/**
 * `npm run bench:platforms` — the Discord and Slack adapters' own overhead with BENCH_THREADS
 * (default 50) dialogues running at once, each BENCH_ROUNDS (default 3) rounds long.
 *
 * The real bot (discord.js and Bolt clients, conversation core on PostgreSQL, BullMQ on Redis)
 * talks to the protocol-level fakes of apps/bot/test/fakes on localhost; generation is the GPU
 * worker test double (flat-colour PNGs, no diffusion), so the figures are the adapter + core +
 * queue path. Spans, measured inside the bot (OverheadRecorder):
 *   enqueue = platform event handed to the listener → round stored and job enqueued;
 *   post    = queue "completed" event → result message posted (edit with 4 PNG uploads, buttons,
 *             number reactions: several HTTP calls to the fake platform).
 * Last line: {"discord":{…},"slack":{…}} with p50/p99 of both spans in ms and rounds/s.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { DiscordConnection } from '../src/discord/discord-connection.service';
import { OverheadRecorder, quantile } from '../src/results/overhead.recorder';
import { SlackConnection } from '../src/slack/slack-connection.service';
import { FakeDiscord } from '../test/fakes/discord/fake-discord.server';
import { startPlatformBot } from '../test/fakes/platform-bot';
import { FakeSlack } from '../test/fakes/slack/fake-slack.server';
import { until } from '../test/support/bot-test-env';
import { startGpuWorkerDouble } from '../test/support/gpu-worker.double';

const THREADS = Number(process.env['BENCH_THREADS'] ?? 50);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const FEEDBACK = ['make it brighter', 'add a red balloon', 'no clouds', 'more contrast'];

interface Figures {
  enqueue_p50_ms: number;
  enqueue_p99_ms: number;
  post_p50_ms: number;
  post_p99_ms: number;
  rounds_per_s: number;
}

const ms = (v: number) => Math.round(v * 100) / 100;

function figures(recorder: OverheadRecorder, rounds: number, seconds: number): Figures {
  const enqueue = recorder.values('enqueue');
  const post = recorder.values('post');
  return {
    enqueue_p50_ms: ms(quantile(enqueue, 0.5)),
    enqueue_p99_ms: ms(quantile(enqueue, 0.99)),
    post_p50_ms: ms(quantile(post, 0.5)),
    post_p99_ms: ms(quantile(post, 0.99)),
    rounds_per_s: Math.round((rounds / seconds) * 10) / 10,
  };
}

async function main(): Promise<void> {
  const discord = await FakeDiscord.start({ heartbeatIntervalMs: 5000 });
  const slack = await FakeSlack.start();
  const bot = await startPlatformBot('bench', { LOG_LEVEL: 'error', PER_USER_CONCURRENCY: '1' }, {
    DISCORD_TOKEN: discord.token,
    DISCORD_APP_ID: discord.appId,
    DISCORD_API_BASE: discord.apiBase,
    DISCORD_PROGRESS_EDIT_MS: '1500',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: slack.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    SLACK_PORT: '0',
    SLACK_HOST: '127.0.0.1',
    SLACK_PROGRESS_EDIT_MS: '1500',
  });
  const worker = startGpuWorkerDouble({ redisUrl: bot.config.REDIS_URL, prefix: bot.config.QUEUE_PREFIX, imageDir: bot.config.IMAGE_DIR, dataSource: bot.app.get(DataSource), concurrency: 8, stepDelayMs: 20 });
  const recorder = bot.app.get(OverheadRecorder);
  try {
    await bot.app.get(DiscordConnection).whenReady();
    const slackConnection = bot.app.get(SlackConnection);
    await slackConnection.whenReady();
    slack.eventsUrl = `http://127.0.0.1:${slackConnection.port}/slack/events`;
    const results: Record<string, Figures> = {};

    // Discord: each user mentions the bot (a thread per dialogue), then replies in the thread.
    recorder.reset();
    let started = performance.now();
    const dUsers = Array.from({ length: THREADS }, (_, i) => discord.user(`d${i}`));
    const starters = dUsers.map((u, i) => discord.userPosts(u, discord.channelId, `<@${discord.bot.id}> a red circle number ${i}`));
    const dResults = (threadId: string) => discord.messagesIn(threadId).filter((m) => m.author.id === discord.bot.id && m.attachments.length > 0);
    for (let round = 1; round <= ROUNDS; round++) {
      if (round > 1) starters.forEach((s, i) => discord.userPosts(dUsers[i]!, s.id, FEEDBACK[(round + i) % FEEDBACK.length]!));
      await until(async () => starters.every((s) => dResults(s.id).length >= round), `discord round ${round}`, 300_000);
    }
    results['discord'] = figures(recorder, THREADS * ROUNDS, (performance.now() - started) / 1000);
    process.stdout.write(`discord: ${JSON.stringify(results['discord'])}\n`);

    // Slack: /imagine per user (the prompt message is the thread), then thread replies.
    recorder.reset();
    started = performance.now();
    const sUsers = Array.from({ length: THREADS }, (_, i) => slack.user(`s${i}`));
    await Promise.all(sUsers.map((u, i) => slack.command(u, '/imagine', `a blue square number ${i}`)));
    const roots = await until(async () => {
      const r = slack.messages.filter((m) => m.bot_id === slack.botId && !m.thread_ts);
      return r.length >= THREADS ? r : null;
    }, 'slack starters', 60_000);
    const owner = (ts: string) => sUsers.find((u) => roots.find((r) => r.ts === ts)!.text.includes(`<@${u.id}>`))!;
    const sResults = (ts: string) => slack.threadReplies(ts).filter((m) => m.blocks.some((b) => b['type'] === 'image'));
    for (let round = 1; round <= ROUNDS; round++) {
      if (round > 1) await Promise.all(roots.map((r, i) => slack.userPosts(owner(r.ts), FEEDBACK[(round + i) % FEEDBACK.length]!, r.ts)));
      await until(async () => roots.every((r) => sResults(r.ts).length >= round), `slack round ${round}`, 300_000);
    }
    results['slack'] = figures(recorder, THREADS * ROUNDS, (performance.now() - started) / 1000);
    process.stdout.write(`slack: ${JSON.stringify(results['slack'])}\n`);
    process.stdout.write(`${JSON.stringify(results)}\n`);
  } finally {
    await worker.close();
    await bot.close();
    await discord.close();
    await slack.close();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
