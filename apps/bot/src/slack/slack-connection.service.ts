import { Inject, Injectable, Logger } from '@nestjs/common';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RetryLoop } from '../discord/shared/retry-backoff.util';
import { SLACK_CONFIG, type SlackConfig } from './slack-config.schema';

/** Bolt logs through Nest's logger so its lines land in the app's structured log. */
function boltLogger(logger: Logger) {
  let level = LogLevel.WARN;
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...m: unknown[]) => logger.warn(m.join(' ')),
    error: (...m: unknown[]) => logger.error(m.join(' ')),
    setLevel: (l: LogLevel) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

/**
 * Owns the Bolt app: HTTP receiver at /slack/events (signatures verified by Bolt, 401 for forged
 * or stale ones) or Socket Mode when SLACK_APP_TOKEN is set. Listeners register on `app` during
 * module init; `connect()` (application bootstrap) verifies the token with auth.test and starts
 * the receiver, retrying with backoff on a bad token or an unreachable Slack.
 */
@Injectable()
export class SlackConnection {
  private readonly logger = new Logger('SlackAdapter');
  readonly app: App | null;
  private loop: RetryLoop | null = null;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private server: Server | null = null;

  constructor(@Inject(SLACK_CONFIG) private readonly config: SlackConfig) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    if (!config.SLACK_BOT_TOKEN) {
      this.app = null;
      return;
    }
    const clientOptions = {
      slackApiUrl: config.SLACK_API_URL,
      // A few quick retries per call; reconnecting is the RetryLoop's job.
      retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
      timeout: 15_000,
    };
    const logger = boltLogger(this.logger);
    this.app = config.SLACK_APP_TOKEN
      ? new App({
          token: config.SLACK_BOT_TOKEN,
          appToken: config.SLACK_APP_TOKEN,
          socketMode: true,
          clientOptions,
          // Bolt hands installerOptions.clientOptions to the Socket Mode client, whose
          // apps.connections.open call then goes to SLACK_API_URL too.
          installerOptions: { clientOptions: { slackApiUrl: config.SLACK_API_URL } },
          logger,
          deferInitialization: true,
        })
      : new App({
          token: config.SLACK_BOT_TOKEN,
          receiver: new HTTPReceiver({ signingSecret: config.SLACK_SIGNING_SECRET!, endpoints: '/slack/events', logger }),
          clientOptions,
          logger,
          deferInitialization: true,
        });
    this.app.error(async (err) => this.logger.error(`bolt: ${err.message}`));
  }

  get enabled(): boolean {
    return this.app !== null;
  }

  /** Port of the HTTP receiver once it listens (tests start it on port 0). */
  get port(): number | null {
    return (this.server?.address() as AddressInfo | null)?.port ?? null;
  }

  connect(): void {
    const app = this.app;
    if (!app) {
      this.logger.log('Slack adapter off (SLACK_BOT_TOKEN not set)');
      return;
    }
    if (this.loop) return;
    this.loop = new RetryLoop({ name: 'slack', baseMs: this.config.SLACK_RETRY_BASE_MS, capMs: this.config.SLACK_RETRY_MAX_MS, log: (line) => this.logger.error(line) });
    let initialised = false;
    void this.loop
      .run(async () => {
        if (!initialised) {
          await app.init(); // auth.test: a bad token fails here
          initialised = true;
        }
        const started = await app.start({ port: this.config.SLACK_PORT, host: this.config.SLACK_HOST });
        if (started && typeof (started as Server).address === 'function') this.server = started as Server;
      })
      .then((connected) => {
        if (!connected) return;
        const where = this.config.SLACK_APP_TOKEN ? 'Socket Mode' : `http://${this.config.SLACK_HOST}:${this.port}/slack/events`;
        this.logger.log(`connected to Slack (${this.config.SLACK_API_URL}); receiving events via ${where}`);
        this.markReady();
      });
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  async disconnect(): Promise<void> {
    this.loop?.stop();
    if (this.server || this.config.SLACK_APP_TOKEN) await this.app?.stop().catch(() => undefined);
  }
}
