import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelVersionService, type ModelVersionEntity } from '@vca/core';
import { TrainingQueue, redisOptionsFromUrl } from '@vca/queue';
import { QueueName } from '@vca/shared';
import { Worker } from 'bullmq';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordConnection } from '../src/discord/discord-connection.service';
import { SlackConnection } from '../src/slack/slack-connection.service';
import { TrainingReportRelay } from '../src/training/training-report.relay';
import { FakeDiscord, type FakeUser } from './fakes/discord/fake-discord.server';
import { startPlatformBot } from './fakes/platform-bot';
import { FakeSlack, type SlackUser } from './fakes/slack/fake-slack.server';
import { ADMIN_TOKEN, TEST_REDIS_URL, until, type BotTestEnv } from './support/bot-test-env';
import { startRealGpuServer } from './support/gpu-server.real';

/**
 * The moderators' side of the learning loop through the real bot: the web moderation API (runs,
 * versions, run now, activate, roll back), `/vca-mod runs|versions|rollback` on Discord and Slack
 * (real discord.js and Bolt against the protocol-level fakes), and the report posted to the
 * moderators' channels when a training job ends — first a real run of the GPU server's training
 * worker, then (for a success and a failure on demand) a clearly labelled TEST DOUBLE of that
 * worker that records a finished run the way the pipeline does; everything else is real
 * (PostgreSQL, Redis/BullMQ).
 */
describe('moderation of the learning loop', () => {
  let discord: FakeDiscord;
  let slack: FakeSlack;
  let bot: BotTestEnv;
  let ds: DataSource;
  let versions: ModelVersionService;
  let worker: Worker | null = null;
  let mod: FakeUser;
  let slackMod: SlackUser;
  let v1: ModelVersionEntity;
  let v2: ModelVersionEntity;

  beforeAll(async () => {
    discord = await FakeDiscord.start({ heartbeatIntervalMs: 500 });
    slack = await FakeSlack.start();
    mod = discord.user('mod');
    slackMod = slack.user('mod');
    slack.moderators.add(slackMod.id);
    bot = await startPlatformBot('modtrain', {}, {
      DISCORD_TOKEN: discord.token,
      DISCORD_APP_ID: discord.appId,
      DISCORD_API_BASE: discord.apiBase,
      DISCORD_MODERATOR_ROLE_ID: discord.moderatorRoleId,
      DISCORD_MOD_CHANNEL_ID: discord.channelId,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: slack.signingSecret,
      SLACK_API_URL: slack.apiUrl,
      SLACK_MODERATOR_GROUP_ID: slack.moderatorGroup,
      SLACK_MOD_CHANNEL_ID: slack.channel,
      SLACK_PORT: '0',
      SLACK_HOST: '127.0.0.1',
    });
    await bot.app.get(DiscordConnection).whenReady();
    const connection = bot.app.get(SlackConnection);
    await connection.whenReady();
    slack.eventsUrl = `http://127.0.0.1:${connection.port}/slack/events`;
    ds = bot.app.get(DataSource);
    versions = new ModelVersionService(ds);
    v1 = await versions.register({ name: 'reward-2026-12-01', kind: 'reward', path: 'reward/1', metrics: { heldout_pair_accuracy: 0.61, pairs: 320 } });
    v2 = await versions.register({ name: 'reward-2026-12-07', kind: 'reward', path: 'reward/2', metrics: { heldout_pair_accuracy: 0.66, pairs: 410 } });
    await versions.activate(v1.id);
    await versions.activate(v2.id);
  });

  afterAll(async () => {
    await worker?.close();
    await bot?.close();
    await slack?.close();
    await discord?.close();
  });

  async function api<T>(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<{ status: number; body: T }> {
    const res = await fetch(`${bot.baseUrl}/api/moderation${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  it('lists model versions with metrics, activates one and rolls back, behind the admin token', async () => {
    expect((await api('GET', '/model-versions?kind=reward', undefined, 'wrong-token-0123456789')).status).toBe(401);
    const listed = await api<ModelVersionEntity[]>('GET', '/model-versions?kind=reward');
    expect(listed.status).toBe(200);
    expect(listed.body.map((v) => [v.name, v.active, v.metrics.heldout_pair_accuracy])).toEqual([
      ['reward-2026-12-07', true, 0.66],
      ['reward-2026-12-01', false, 0.61],
    ]);

    const rolled = await api<{ from: ModelVersionEntity; active: ModelVersionEntity; serving: ModelVersionEntity }>('POST', '/model-versions/rollback', { kind: 'reward' });
    expect(rolled.status).toBe(200);
    expect(rolled.body.from.name).toBe('reward-2026-12-07');
    expect(rolled.body.active.name).toBe('reward-2026-12-01');
    expect((await versions.active('reward', 'web:local'))!.id).toBe(v1.id);

    const activated = await api<ModelVersionEntity>('POST', `/model-versions/${v2.id}/activate`);
    expect(activated.body).toMatchObject({ id: v2.id, active: true });
    expect((await versions.active('reward', null))!.id).toBe(v2.id);
    expect((await api('POST', `/model-versions/${randomUUID()}/activate`)).status).toBe(400);
    expect((await api('POST', '/model-versions/rollback', { kind: 'nonsense' })).status).toBe(400);
    // Both actions are in the moderation audit table, with the moderator and the versions.
    const audit = await bot.db.dataSource.query(`SELECT action, target_id, details FROM moderation_actions WHERE action IN ('rollback_model', 'activate_model') ORDER BY id`);
    expect(audit).toEqual([
      { action: 'rollback_model', target_id: v2.id, details: expect.objectContaining({ from: 'reward-2026-12-07', to: 'reward-2026-12-01' }) },
      { action: 'activate_model', target_id: v2.id, details: expect.objectContaining({ name: 'reward-2026-12-07', kind: 'reward' }) },
    ]);
  });

  it('enqueues a manual training run ("run now") and lists runs with their reports', async () => {
    const requested = await api<{ jobId: string }>('POST', '/training-runs', {});
    expect(requested.status).toBe(202);
    const [audited] = await bot.db.dataSource.query(`SELECT target_id FROM moderation_actions WHERE action = 'request_training'`);
    expect(audited.target_id).toBe(requested.body.jobId);
    const queue = new TrainingQueue({ redisUrl: TEST_REDIS_URL, prefix: bot.config.QUEUE_PREFIX });
    try {
      const job = await queue.queue.getJob(requested.body.jobId);
      expect(job?.data).toMatchObject({ trigger: 'manual', requireApproval: false });
      await job!.remove();
    } finally {
      await queue.close();
    }
    await insertRun({ status: 'succeeded', report: 'reward · global: promoted — pair accuracy 0.66 > 0.61' });
    const runs = await api<Array<{ status: string; report: string; stages: Record<string, unknown> }>>('GET', '/training-runs?limit=5');
    expect(runs.status).toBe(200);
    expect(runs.body[0]).toMatchObject({ status: 'succeeded', report: expect.stringContaining('promoted') });
    expect(runs.body[0]!.stages).toHaveProperty('reward');
  });

  it('answers /vca-mod runs, versions and rollback on Discord', async () => {
    const roles = { roles: [discord.moderatorRoleId] };
    const runs = discord.invokeCommand(mod, 'vca-mod', [{ name: 'runs', type: 1, options: [] }], roles);
    await until(async () => runs.original?.content.includes('succeeded'), 'runs answer');
    expect(runs.ephemeral).toBe(true);
    expect(runs.original!.content).toContain('reward · global: promoted');

    const listed = discord.invokeCommand(mod, 'vca-mod', [{ name: 'versions', type: 1, options: [] }], roles);
    await until(async () => listed.original?.content.includes('reward-2026-12-07'), 'versions answer');
    expect(listed.original!.content).toMatch(/✅ `reward-2026-12-07` reward · global — heldout_pair_accuracy 0\.660/);

    // This server has no version of its own: the global one that serves it is rolled back.
    const rollback = discord.invokeCommand(mod, 'vca-mod', [{ name: 'rollback', type: 1, options: [] }], roles);
    await until(async () => rollback.original?.content.startsWith('Rolled back'), 'rollback answer');
    expect(rollback.original!.content).toContain('from `reward-2026-12-07`');
    expect(rollback.original!.content).toContain('scored by `reward-2026-12-01` (global)');
    expect((await versions.active('reward', `discord:${discord.guildId}`))!.id).toBe(v1.id);

    const refused = discord.invokeCommand(discord.user('eve'), 'vca-mod', [{ name: 'rollback', type: 1, options: [] }]);
    await until(async () => refused.original?.content.includes('moderator role'), 'refusal');
    expect((await versions.active('reward', null))!.id).toBe(v1.id);
  });

  it('answers /vca-mod runs, versions and rollback <version> on Slack', async () => {
    await slack.command(slackMod, '/vca-mod', 'versions');
    await until(async () => slack.responses.find((r) => String(r['text']).includes('reward-2026-12-01')), 'versions answer');
    await slack.command(slackMod, '/vca-mod', 'runs 3');
    await until(async () => slack.responses.find((r) => String(r['text']).includes('succeeded')), 'runs answer');
    await slack.command(slackMod, '/vca-mod', 'rollback reward-2026-12-07');
    const answer = await until(async () => slack.responses.find((r) => String(r['text']).startsWith('Rolled back')), 'rollback answer');
    expect(answer['response_type']).toBe('ephemeral');
    expect(String(answer['text'])).toContain('scored by `reward-2026-12-07` (global)');
    expect((await versions.active('reward', `slack:${slack.teamId}`))!.id).toBe(v2.id);
  });

  it("posts the report of a real training run (the GPU server's training worker) to both channels", async () => {
    const work = await mkdtemp(join(tmpdir(), 'vca-bot-training-'));
    const gpu = await startRealGpuServer(bot, {
      env: { WORKER_QUEUES: 'training', TRAINING_WORK_DIR: join(work, 'runs'), VERSIONS_DIR: join(work, 'versions') },
    });
    try {
      const requested = await api<{ jobId: string }>('POST', '/training-runs', {});
      expect(requested.status).toBe(202);
      // No labels yet: the run ends skipped, saying why.
      const post = await until(async () => discord.messagesIn(discord.channelId).find((m) => m.content.includes('(manual) skipped')), 'discord report of the real run', 60_000);
      expect(post.content).toMatch(/^🧪 Training run [0-9a-f]{8} \(manual\) skipped/);
      expect(post.content.split('\n').length).toBeGreaterThan(1);
      await until(async () => slack.messages.find((m) => m.channel === slack.channel && m.text.includes('(manual) skipped')), 'slack report of the real run', 20_000);
      const runs = await api<Array<{ status: string; jobId: string; report: string | null }>>('GET', '/training-runs');
      expect(runs.body.find((r) => r.jobId === requested.body.jobId)).toMatchObject({ status: 'skipped' });
    } finally {
      await gpu.close();
      await rm(work, { recursive: true, force: true });
    }
  });

  it("posts a finished run's report, and a failed one's, to the moderators' Discord and Slack channels", async () => {
    // TEST DOUBLE of the GPU server's training worker: records the run as the pipeline would.
    let fail = false;
    worker = new Worker(
      QueueName.Training,
      async (job) => {
        const runId = await insertRun(
          fail
            ? { status: 'failed', report: null, error: 'out of memory in stage reward', jobId: job.id! }
            : { status: 'succeeded', report: 'reward · global: promoted — held-out pair accuracy 0.70 > 0.66', jobId: job.id! },
        );
        if (fail) throw new Error('out of memory in stage reward');
        return { trainingRunId: runId, status: 'succeeded', data: {} };
      },
      { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: bot.config.QUEUE_PREFIX },
    );
    worker.on('error', () => undefined);
    await worker.waitUntilReady();

    const ok = await api<{ jobId: string }>('POST', '/training-runs', {});
    expect(ok.status).toBe(202);
    const discordPost = await until(async () => discord.messagesIn(discord.channelId).find((m) => m.content.includes('succeeded')), 'discord report', 20_000);
    expect(discordPost.content).toMatch(/^🧪 Training run [0-9a-f]{8} \(manual\) succeeded/);
    expect(discordPost.content).toContain('held-out pair accuracy 0.70 > 0.66');
    const slackPost = await until(async () => slack.messages.find((m) => m.channel === slack.channel && m.text.includes('succeeded')), 'slack report', 20_000);
    expect(slackPost.text).toContain('held-out pair accuracy 0.70');

    fail = true;
    await api('POST', '/training-runs', {});
    const failed = await until(async () => discord.messagesIn(discord.channelId).find((m) => m.content.includes(' failed')), 'discord failure report', 20_000);
    expect(failed.content).toContain('out of memory in stage reward');
    await until(async () => slack.messages.find((m) => m.text.includes('out of memory')), 'slack failure report', 20_000);
    await bot.app.get(TrainingReportRelay).idle();
    // One post per run and channel, however many events arrived (the real run's, then these two).
    expect(discord.messagesIn(discord.channelId).filter((m) => m.content.startsWith('🧪')).length).toBe(3);
  });

  async function insertRun(r: { status: string; report: string | null; error?: string; jobId?: string }): Promise<string> {
    const id = randomUUID();
    const stages = {
      reward: {
        global: {
          decision: r.status === 'failed' ? 'failed' : 'promoted',
          reason: r.status === 'failed' ? 'stage threw' : 'beats the active version',
          metrics: { heldout_pair_accuracy: 0.7 },
          producedVersionId: null,
          seconds: 12,
          startedAt: new Date().toISOString(),
          finishedAt: new Date().toISOString(),
        },
      },
    };
    await ds.query(
      `INSERT INTO training_runs (id, status, trigger, scheduled_for, data_summary, data_cutoff, stages, report, error, job_id, started_at, finished_at)
       VALUES ($1, $2, 'manual', now(), '{}'::jsonb, now(), $3::jsonb, $4, $5, $6, now() - interval '12 seconds', now())`,
      [id, r.status, JSON.stringify(stages), r.report, r.error ?? null, r.jobId ?? null],
    );
    return id;
  }
});
