import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { TrainingRunEntity, TrainingRunService } from '@vca/core';
import { createRedisClient, redisOptionsFromUrl } from '@vca/queue';
import type { Redis } from 'ioredis';
import { QueueName } from '@vca/shared';
import { QueueEvents } from 'bullmq';
import { DataSource } from 'typeorm';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';
import { DISCORD_CONFIG, type DiscordConfig } from '../discord/discord-config.schema';
import { DiscordConnection } from '../discord/discord-connection.service';
import { SLACK_CONFIG, type SlackConfig } from '../slack/slack-config.schema';
import { SlackConnection } from '../slack/slack-connection.service';
import { formatRunReport } from './training-report.format';

/** Discord message and Slack text limits (Slack allows more, but a report is short). */
const MAX_REPORT_CHARS = 1900;
/** A finished job's run row is written just before the event; a failed one may lag a little. */
const SETTLE_TRIES = 10;
const SETTLE_MS = 300;

/**
 * Posts a short report to the moderators' channels (DISCORD_MOD_CHANNEL_ID, SLACK_MOD_CHANNEL_ID)
 * when a training job ends: listens to the training queue's completed / failed events (BullMQ
 * QueueEvents, like the round results relay), reads the run and posts its report. With several
 * bot replicas one posts each run (a Redis claim per run). Inactive when neither channel is set.
 */
@Injectable()
export class TrainingReportRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TrainingReportRelay.name);
  private events: QueueEvents | null = null;
  private redis: Redis | null = null;
  /** Reports being posted (tests wait on them; shutdown lets them finish). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(BOT_CONFIG) private readonly config: BotConfig,
    @Inject(DISCORD_CONFIG) private readonly discordConfig: DiscordConfig,
    @Inject(SLACK_CONFIG) private readonly slackConfig: SlackConfig,
    private readonly discord: DiscordConnection,
    private readonly slack: SlackConnection,
    private readonly runs: TrainingRunService,
    private readonly dataSource: DataSource,
  ) {}

  get enabled(): boolean {
    return Boolean((this.discordConfig.DISCORD_MOD_CHANNEL_ID && this.discord.client) || (this.slackConfig.SLACK_MOD_CHANNEL_ID && this.slack.app));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    const events = new QueueEvents(QueueName.Training, { connection: redisOptionsFromUrl(this.config.REDIS_URL), prefix: this.config.QUEUE_PREFIX, autorun: false });
    events.on('error', () => undefined);
    events.on('completed', ({ jobId, returnvalue }) => this.track(this.onEnded(jobId, runIdOf(returnvalue))));
    events.on('failed', ({ jobId, failedReason }) => this.track(this.onEnded(jobId, null, failedReason)));
    this.events = events;
    this.redis = createRedisClient(this.config.REDIS_URL);
    this.redis.on('error', () => undefined);
    void events.run().catch(() => undefined);
    await events.waitUntilReady().catch((err: Error) => this.logger.warn(`training events: ${err.message}`));
  }

  /** Resolves once every report started so far was posted (or gave up). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((err: Error) => this.logger.error(`training report: ${err.message}`));
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
  }

  private async onEnded(jobId: string, runId: string | null, failedReason?: string): Promise<void> {
    const run = await this.settledRun(jobId, runId);
    if (!run) {
      if (failedReason) await this.post(`claim:job:${jobId}`, `Training job ${jobId} failed before it recorded a run: ${failedReason}`);
      return;
    }
    let text = formatRunReport(run);
    if (failedReason && run.status !== 'failed' && !text.includes(failedReason)) text += `\njob failed: ${failedReason}`;
    await this.post(`claim:run:${run.id}`, text);
  }

  /** The run of a job, once it no longer says scheduled/running (or after a few tries). */
  private async settledRun(jobId: string, runId: string | null): Promise<TrainingRunEntity | null> {
    const repo = this.dataSource.getRepository(TrainingRunEntity);
    let run: TrainingRunEntity | null = null;
    for (let i = 0; i < SETTLE_TRIES; i++) {
      run = runId ? await repo.findOneBy({ id: runId }) : await repo.findOne({ where: { jobId }, order: { createdAt: 'DESC' } });
      if (run && run.status !== 'running' && run.status !== 'scheduled') return run;
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    return run;
  }

  private async post(claimKey: string, text: string): Promise<void> {
    if (!(await this.claim(claimKey))) return;
    const body = text.length > MAX_REPORT_CHARS ? `${text.slice(0, MAX_REPORT_CHARS - 1)}…` : text;
    const posts: Promise<void>[] = [];
    const discordChannel = this.discordConfig.DISCORD_MOD_CHANNEL_ID;
    if (discordChannel && this.discord.client) posts.push(this.postDiscord(discordChannel, body));
    const slackChannel = this.slackConfig.SLACK_MOD_CHANNEL_ID;
    if (slackChannel && this.slack.app) posts.push(this.postSlack(slackChannel, body));
    const results = await Promise.allSettled(posts);
    for (const r of results) if (r.status === 'rejected') this.logger.warn(`training report not posted: ${(r.reason as Error).message}`);
  }

  private async postDiscord(channelId: string, text: string): Promise<void> {
    await this.discord.whenReady();
    const channel = await this.discord.client!.channels.fetch(channelId);
    if (!channel?.isSendable()) throw new Error(`Discord channel ${channelId} is not one the bot can post in`);
    await channel.send({ content: `🧪 ${text}` });
  }

  private async postSlack(channel: string, text: string): Promise<void> {
    await this.slack.whenReady();
    await this.slack.app!.client.chat.postMessage({ channel, text: `:test_tube: ${text}` });
  }

  /** One replica posts each report: SET NX on a key that outlives any retry of the event. */
  private async claim(key: string): Promise<boolean> {
    if (!this.redis) return true;
    try {
      return (await this.redis.set(`${this.config.QUEUE_PREFIX}:training-report:${key}`, '1', 'EX', 7 * 24 * 3600, 'NX')) === 'OK';
    } catch {
      return true; // Redis hiccup: better a duplicate report than none.
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 2_000))]);
    await this.events?.close().catch(() => undefined);
    this.redis?.disconnect();
  }
}

function runIdOf(returnvalue: unknown): string | null {
  try {
    const value: unknown = typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue;
    const id = (value as { trainingRunId?: unknown } | null)?.trainingRunId;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}
