import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSlackConfig } from '../../src/slack/slack-config.schema';
import { SlackConnection } from '../../src/slack/slack-connection.service';
import { parseSlackModCommand } from '../../src/slack/slack-mod-command.parser';
import { FakeSlack } from '../fakes/slack/fake-slack.server';

/** Bolt against the fake Web API: token check at start, bad token and outage retried with backoff. */
describe(SlackConnection.name, () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await FakeSlack.start();
  });
  afterAll(async () => {
    await fake?.close();
  });

  const connection = (token: string) =>
    new SlackConnection(
      loadSlackConfig({
        SLACK_BOT_TOKEN: token,
        SLACK_SIGNING_SECRET: fake.signingSecret,
        SLACK_API_URL: fake.apiUrl,
        SLACK_PORT: '0',
        SLACK_HOST: '127.0.0.1',
        SLACK_RETRY_BASE_MS: '20',
        SLACK_RETRY_MAX_MS: '50',
      }),
    );
  const authTests = () => fake.calls.filter((c) => c === 'auth.test').length;

  it('is off without SLACK_BOT_TOKEN and needs a signing secret in HTTP mode', () => {
    expect(new SlackConnection(loadSlackConfig({})).enabled).toBe(false);
    expect(() => loadSlackConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/SLACK_SIGNING_SECRET/);
    expect(() => loadSlackConfig({ SLACK_BOT_TOKEN: 'xoxp-1', SLACK_SIGNING_SECRET: 'secret123' })).toThrow(/SLACK_BOT_TOKEN/);
  });

  it('retries a refused token with backoff and never throws', async () => {
    const before = authTests();
    const c = connection('xoxb-wrong');
    c.connect();
    await new Promise((r) => setTimeout(r, 400));
    expect(authTests() - before).toBeGreaterThanOrEqual(2);
    expect(c.port).toBeNull();
    await c.disconnect();
  });

  it('starts the receiver once an unreachable Slack comes back', async () => {
    fake.down = true;
    const c = connection(fake.token);
    c.connect();
    await new Promise((r) => setTimeout(r, 300));
    fake.down = false;
    await c.whenReady();
    expect(c.port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${c.port}/slack/events`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(401); // unsigned
    await c.disconnect();
  });

  it('parses /vca-mod text', () => {
    expect(parseSlackModCommand('ban <@U123|alice> spams the channel')).toEqual({ kind: 'ban', userId: 'U123', reason: 'spams the channel' });
    expect(parseSlackModCommand('unban abc123')).toEqual({ kind: 'unban', raterId: 'abc123' });
    expect(parseSlackModCommand('export dialogues')).toEqual({ kind: 'export', format: 'dialogues' });
    expect(parseSlackModCommand('dance')).toBeNull();
  });
});
