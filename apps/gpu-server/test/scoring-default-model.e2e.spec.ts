import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationService, ModelVersionService, RuleBasedPromptRefiner } from '@vca/core';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { loadDiffusionImageGenerator } from '../src/model/diffusion-image.generator';
import { createDialogueHarness, roundOutcome, type DialogueHarness } from './support/dialogue-harness.util';
import { writeTinyRewardVersion as writeTinyVersion } from './support/simulated-labels.util';
import { TEST_DATABASE_URL, createTestEnv, type TestEnv } from './support/test-env.util';

/**
 * Scoring for real: the GPU server on the shipped default model (its dual encoder is the reward
 * model's backbone) with the production scorer from @vca/reward. Without a trained reward version
 * every round is scored by the plain cosine; a registered version whose files are missing falls
 * back to it too (logged, never failing the round).
 */
describe('gpu-server scoring on the default model', () => {
  let t: TestEnv;
  let app: INestApplication;
  let url: string;
  let h: DialogueHarness;
  let versionsDir: string;

  beforeAll(async () => {
    t = await createTestEnv('scored');
    versionsDir = await mkdtemp(join(tmpdir(), 'vca-gpu-versions-'));
    app = await createGpuServerApp({
      config: t.config({ MODEL_DIR: 'models/default', WORKER_QUEUES: 'generation', ORT_INTRA_OP_THREADS: '1', VERSIONS_DIR: versionsDir }),
      loadGenerator: loadDiffusionImageGenerator,
    });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    await app.get(JobWorkersService).waitUntilReady();
    h = await createDialogueHarness({ databaseUrl: TEST_DATABASE_URL, schema: t.schema, redisUrl: t.config().REDIS_URL, prefix: t.prefix });
  });
  afterAll(async () => {
    await h?.close();
    await app?.close();
    await t?.cleanup();
    if (versionsDir) await rm(versionsDir, { recursive: true, force: true });
  });

  type Row = { candidate_index: number; seed: string; strength: number; scores: { reward: number; cosine: number }; reward_version_id: string | null; model_version_id: string | null };
  const rowsOf = (roundId: string): Promise<Row[]> =>
    h.dataSource.query('SELECT candidate_index, seed, strength, scores, reward_version_id, model_version_id FROM images WHERE round_id = $1 ORDER BY candidate_index', [roundId]);

  it('scores every candidate with the cosine baseline, ranks them, and keeps the best N of K', async () => {
    const conversation = new ConversationService(h.dataSource, h.producer, new RuleBasedPromptRefiner(), { candidates: 2, oversample: 4, steps: 6, guidanceScale: 2.5 });
    const message = { platform: 'web' as const, workspaceId: 'local', channelId: 'c', threadId: 'scored-1', userId: 'u', text: 'a red circle in the top left' };
    const r = await conversation.handleMessage(message);
    expect(await roundOutcome(h, r.round.id, 60_000)).toBe('completed');
    const rows = await rowsOf(r.round.id);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.reward_version_id).toBeNull();
      expect(row.model_version_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.scores.reward).toBeCloseTo(row.scores.cosine, 6);
      expect(Math.abs(row.scores.cosine)).toBeLessThanOrEqual(1.0001);
    }
    // Ranked best first, and the two kept are the two best of the four generated.
    expect(rows[0]!.scores.reward).toBeGreaterThanOrEqual(rows[1]!.scores.reward);
    const job = await conversation.buildJob(r.round.id);
    const seeds = job.candidates.map((c) => c.seed);
    for (const row of rows) expect(seeds).toContain(Number(row.seed));
    const result = (await (await fetch(`${url}/v1/jobs/round-${r.round.id}`)).json()) as { result: { images: Array<{ scores: unknown }>; scoringSeconds: number; elapsedMs: number } };
    expect(result.result.images.every((i) => i.scores)).toBe(true);
    // Scoring is a small part of the round (the 5% budget; generous here for a loaded test box).
    expect(result.result.scoringSeconds * 1000).toBeLessThan(0.25 * result.result.elapsedMs);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^vca_reward_scoring_seconds_count 1$/m);

    // Nobody voted: the next round starts from the best-scored candidate.
    await conversation.handleMessage({ ...message, text: 'make it blue' });
    const [image0] = await h.dataSource.query('SELECT storage_key FROM images WHERE round_id = $1 AND candidate_index = 0', [r.round.id]);
    const next = await h.dataSource.query(`SELECT id FROM rounds WHERE dialogue_id = $1 AND index = 2`, [r.dialogueId]);
    expect((await conversation.buildJob(next[0].id)).initImageKey).toBe(image0.storage_key);
    expect(await roundOutcome(h, next[0].id, 60_000)).toBe('completed');
  });

  it("scores with the community's active trained version, and other communities with the global one", async () => {
    // A tiny trained version on the shipped encoder, written where the training stage writes them.
    await writeTinyVersion(join(versionsDir, 'reward', 'web-local-1'));
    await writeTinyVersion(join(versionsDir, 'reward', 'global-1'), 7);
    const versions = new ModelVersionService(h.dataSource);
    const own = await versions.register({ name: 'reward-web-1', kind: 'reward', path: 'reward/web-local-1', communityId: 'web:local' });
    const global = await versions.register({ name: 'reward-global-1', kind: 'reward', path: 'reward/global-1' });
    await versions.activate(own.id);
    await versions.activate(global.id);

    const web = await h.conversation.handleMessage({ platform: 'web', workspaceId: 'local', channelId: 'c', threadId: 'trained-1', userId: 'u', text: 'a green star' });
    const slack = await h.conversation.handleMessage({ platform: 'slack', workspaceId: 'T1', channelId: 'c', threadId: 'c:1.0', userId: 'u', text: 'a green star' });
    expect(await roundOutcome(h, web.round.id, 60_000)).toBe('completed');
    expect(await roundOutcome(h, slack.round.id, 60_000)).toBe('completed');
    const webRows = await rowsOf(web.round.id);
    const slackRows = await rowsOf(slack.round.id);
    expect(webRows.every((r) => r.reward_version_id === own.id)).toBe(true);
    expect(slackRows.every((r) => r.reward_version_id === global.id)).toBe(true);
    // A trained head's reward is its own number, the cosine stays beside it; ranked by reward.
    expect(webRows.some((r) => Math.abs(r.scores.reward - r.scores.cosine) > 1e-6)).toBe(true);
    expect(webRows[0]!.scores.reward).toBeGreaterThanOrEqual(webRows[1]!.scores.reward);
    await versions.rollback('reward', 'web:local');
    await versions.rollback('reward', null);
  });

  it("falls back to the cosine when the community's reward version cannot be loaded", async () => {
    const versions = new ModelVersionService(h.dataSource);
    const broken = await versions.register({ name: 'reward-broken', kind: 'reward', path: 'does/not/exist', communityId: 'web:local' });
    await versions.activate(broken.id);
    const r = await h.conversation.handleMessage({ platform: 'web', workspaceId: 'local', channelId: 'c', threadId: 'scored-2', userId: 'u', text: 'a blue square' });
    expect(await roundOutcome(h, r.round.id, 60_000)).toBe('completed');
    const rows = await rowsOf(r.round.id);
    expect(rows.every((row) => row.reward_version_id === null && typeof row.scores.reward === 'number')).toBe(true);
  });
});
