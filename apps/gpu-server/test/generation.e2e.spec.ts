import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationService, ModelVersionService, RuleBasedPromptRefiner } from '@vca/core';
import { DiffusionPipeline, decodePng, writeFixtureLora, writeFixtureModel } from '@vca/diffusion';
import { DiskImageStorage, sha256Hex } from '@vca/shared';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { loadDiffusionImageGenerator } from '../src/model/diffusion-image.generator';
import { createDialogueHarness, roundOutcome, type DialogueHarness } from './support/dialogue-harness.util';
import { TEST_DATABASE_URL, createTestEnv, until, type TestEnv } from './support/test-env.util';

/** A real worker on a small random-weight model, driven by the core and the BullMQ producer. */
describe('gpu-server generation worker', () => {
  let t: TestEnv;
  let modelDir: string;
  let app: INestApplication;
  let url: string;
  let h: DialogueHarness;

  const message = (text: string) => ({
    platform: 'web' as const,
    workspaceId: 'local',
    channelId: 'c1',
    threadId: 'thread-1',
    userId: 'alice',
    text,
  });

  beforeAll(async () => {
    modelDir = await mkdtemp(join(tmpdir(), 'vca-gpu-model-'));
    writeFixtureModel(modelDir, { seed: 7 });
    t = await createTestEnv('gen');
    app = await createGpuServerApp({ config: t.config({ MODEL_DIR: modelDir }), loadGenerator: loadDiffusionImageGenerator });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    await app.get(JobWorkersService).waitUntilReady();
    h = await createDialogueHarness({ databaseUrl: TEST_DATABASE_URL, schema: t.schema, redisUrl: t.config().REDIS_URL, prefix: t.prefix });
  });
  afterAll(async () => {
    await h?.close();
    await app?.close();
    await t?.cleanup();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it('reports the model as loaded', async () => {
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const { models } = (await (await fetch(`${url}/v1/models`)).json()) as { models: { version: string; width: number }[] };
    expect(models).toHaveLength(1);
    expect(models[0]!.version).toMatch(/^vca-gpu-model-\w+-[0-9a-f]{12}$/);
    expect(models[0]!.width).toBe(32);
  });

  it('runs a three-round dialogue: text-to-image, then img2img from the kept image', async () => {
    const storage = new DiskImageStorage(t.imageDir);
    const r1 = await h.conversation.handleMessage(message('a red circle on a blue square'));
    expect(await roundOutcome(h, r1.round.id)).toBe('completed');
    const round1 = await h.dataSource.query('SELECT status, mode FROM rounds WHERE id = $1', [r1.round.id]);
    expect(round1).toEqual([{ status: 'completed', mode: 'txt2img' }]);
    const images1 = await h.dataSource.query(
      'SELECT id, candidate_index, storage_key, content_hash, model_version, strength FROM images WHERE round_id = $1 ORDER BY candidate_index',
      [r1.round.id],
    );
    expect(images1).toHaveLength(2);
    for (const image of images1) {
      const bytes = await storage.get(image.storage_key);
      expect(sha256Hex(bytes)).toBe(image.content_hash);
      const res = await fetch(`${url}/v1/images/${image.storage_key}`);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }
    expect(h.progress.get(r1.round.id)?.at(-1)).toBe('4/4');

    // The user picks candidate 1; rounds 2 and 3 start from the kept image.
    await h.feedback.recordFeedback({
      platform: 'web',
      userId: 'alice',
      imageId: images1[1].id,
      signal: 'pick',
      source: 'web',
      platformEventId: 'pick-1',
    });
    const r2 = await h.conversation.handleMessage(message('make it green instead of red'));
    const job2 = await h.conversation.buildJob(r2.round.id);
    expect(job2.initImageKey).toBe(images1[1].storage_key);
    expect(await roundOutcome(h, r2.round.id)).toBe('completed');
    const r3 = await h.conversation.handleMessage(message('more blue'));
    expect(await roundOutcome(h, r3.round.id)).toBe('completed');

    const rounds = await h.dataSource.query(
      `SELECT r.index, r.mode, r.status, count(i.id)::int AS images, min(i.strength) AS min_strength
         FROM rounds r LEFT JOIN images i ON i.round_id = r.id WHERE r.dialogue_id = $1
        GROUP BY r.id ORDER BY r.index`,
      [r1.dialogueId],
    );
    expect(rounds.map((r: { mode: string; status: string; images: number }) => [r.mode, r.status, r.images])).toEqual([
      ['txt2img', 'completed', 2],
      ['img2img', 'completed', 2],
      ['img2img', 'completed', 2],
    ]);
    expect(Number(rounds[1].min_strength)).toBeLessThan(1);

    const job = (await (await fetch(`${url}/v1/jobs/round-${r3.round.id}`)).json()) as { state: string; result: { images: unknown[] } };
    expect(job.state).toBe('completed');
    expect(job.result.images).toHaveLength(2);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^vca_generated_images_total 6$/m);
  });

  it('fails a round for good, without retries, when its kept image was deleted', async () => {
    const storage = new DiskImageStorage(t.imageDir);
    const thread = { ...message('a blue circle'), threadId: 'thread-2' };
    const r1 = await h.conversation.handleMessage(thread);
    expect(await roundOutcome(h, r1.round.id)).toBe('completed');
    const keys: { storage_key: string }[] = await h.dataSource.query('SELECT storage_key FROM images WHERE round_id = $1', [r1.round.id]);
    for (const { storage_key } of keys) await storage.delete(storage_key);

    const r2 = await h.conversation.handleMessage({ ...thread, text: 'make it red' });
    expect(await roundOutcome(h, r2.round.id)).toMatch(/^failed: the kept image [0-9a-f]{64}\.png no longer exists$/);
    await until(async () => (await h.dataSource.query('SELECT status FROM rounds WHERE id = $1', [r2.round.id]))[0].status === 'failed', 10_000, 'round marked failed');
    const [round] = await h.dataSource.query('SELECT failure_reason FROM rounds WHERE id = $1', [r2.round.id]);
    expect(round.failure_reason).toMatch(/no longer exists/);
    const job = (await (await fetch(`${url}/v1/jobs/round-${r2.round.id}`)).json()) as { state: string; attemptsMade: number };
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1 });
  });

  it('applies a registered LoRA at run time and records its version on the images', async () => {
    const loraPath = join(modelDir, 'style.safetensors');
    const probe = await DiffusionPipeline.load(modelDir);
    writeFixtureLora(loraPath, probe.lora!.targets, { seed: 11, std: 0.5 });
    await probe.dispose();
    const version = await new ModelVersionService(h.dataSource).register({ name: 'style-lora-1', kind: 'lora', path: loraPath });
    const styled = new ConversationService(h.dataSource, h.producer, new RuleBasedPromptRefiner(), {
      candidates: 1,
      steps: 4,
      guidanceScale: 3,
      loras: [{ versionId: version.id, scale: 0.8 }],
    });
    const r = await styled.handleMessage({ ...message('a purple triangle'), threadId: 'lora-on' });
    expect(await roundOutcome(h, r.round.id)).toBe('completed');
    const [image] = await h.dataSource.query('SELECT lora_versions, storage_key FROM images WHERE round_id = $1', [r.round.id]);
    expect(image.lora_versions).toEqual([version.id]);
    // The pipeline writes the adapters it applied into the PNG's parameters.
    const png = decodePng(await new DiskImageStorage(t.imageDir).get(image.storage_key));
    expect(Object.values(png.text).join('\n')).toContain(`Lora: ${version.id}:0.8`);

    const unknown = new ConversationService(h.dataSource, h.producer, new RuleBasedPromptRefiner(), {
      candidates: 1,
      steps: 4,
      loras: [{ versionId: '00000000-0000-4000-8000-000000000000', scale: 1 }],
    });
    const bad = await unknown.handleMessage({ ...message('a purple triangle'), threadId: 'lora-unknown' });
    expect(await roundOutcome(h, bad.round.id)).toMatch(/is not a registered LoRA/);
  });
});
