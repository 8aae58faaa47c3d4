import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationService, RuleBasedPromptRefiner } from '@vca/core';
import { writeFixtureModel } from '@vca/diffusion';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { loadDiffusionImageGenerator } from '../src/model/diffusion-image.generator';
import { BaseModelVersion } from '../src/training/base-model.registrar';
import { createDialogueHarness, roundOutcome, type DialogueHarness } from './support/dialogue-harness.util';
import { TEST_DATABASE_URL, createTestEnv, type TestEnv } from './support/test-env.util';

/**
 * Rounds on a model without a CLIP-style encoder pair (the fixture, like a plain Stable Diffusion
 * export): they complete unscored, image rows name the base version, and best-of-K generates only
 * the N candidates it keeps (there is nothing to choose them by).
 */
describe('gpu-server scoring: a model without a dual encoder', () => {
  let t: TestEnv;
  let modelDir: string;
  let app: INestApplication;
  let h: DialogueHarness;

  beforeAll(async () => {
    modelDir = await mkdtemp(join(tmpdir(), 'vca-gpu-unscored-'));
    writeFixtureModel(modelDir, { seed: 7 });
    t = await createTestEnv('unscored');
    app = await createGpuServerApp({ config: t.config({ MODEL_DIR: modelDir, WORKER_QUEUES: 'generation' }), loadGenerator: loadDiffusionImageGenerator });
    await app.listen(0, '127.0.0.1');
    await app.get(JobWorkersService).waitUntilReady();
    h = await createDialogueHarness({ databaseUrl: TEST_DATABASE_URL, schema: t.schema, redisUrl: t.config().REDIS_URL, prefix: t.prefix });
  });
  afterAll(async () => {
    await h?.close();
    await app?.close();
    await t?.cleanup();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it('stores unscored images naming the base model version; OVERSAMPLE generates only the kept N', async () => {
    await app.get(BaseModelVersion).ready;
    const baseId = app.get(BaseModelVersion).id;
    expect(baseId).toMatch(/^[0-9a-f-]{36}$/);
    const conversation = new ConversationService(h.dataSource, h.producer, new RuleBasedPromptRefiner(), { candidates: 2, oversample: 4, steps: 4, guidanceScale: 3 });
    const r = await conversation.handleMessage({ platform: 'web', workspaceId: 'local', channelId: 'c', threadId: 'unscored-1', userId: 'u', text: 'a red circle' });
    expect(await roundOutcome(h, r.round.id)).toBe('completed');
    const rows = await h.dataSource.query(
      'SELECT candidate_index, seed, scores, reward_version_id, model_version_id FROM images WHERE round_id = $1 ORDER BY candidate_index',
      [r.round.id],
    );
    const job = await conversation.buildJob(r.round.id);
    expect(job).toMatchObject({ keep: 2, communityId: 'web:local' });
    expect(job.candidates).toHaveLength(4);
    // Unscored: the first N candidates, in generation order.
    expect(rows.map((row: { candidate_index: number; seed: string }) => [row.candidate_index, Number(row.seed)])).toEqual(
      job.candidates.slice(0, 2).map((c, i) => [i, c.seed]),
    );
    for (const row of rows) expect(row).toMatchObject({ scores: {}, reward_version_id: null, model_version_id: baseId });
    const metrics = await (await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/metrics`)).text();
    expect(metrics).toMatch(/^vca_generated_images_total 2$/m);
    expect(metrics).toMatch(/^vca_reward_scoring_seconds_count 0$/m);
  });
});
