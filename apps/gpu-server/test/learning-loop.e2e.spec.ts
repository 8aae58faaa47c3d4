import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationService, ModelVersionService, RuleBasedPromptRefiner, type GenerationQueuePort } from '@vca/core';
import { TrainingQueue } from '@vca/queue';
import { DiskImageStorage, type GenerationJob } from '@vca/shared';
import { SceneOracle, SceneRenderer, encodePng, simulateRound, type CommunityTaste } from '@vca/world';
import { createGpuServerApp } from '../src/app.factory';
import { JobWorkersService } from '../src/jobs/job-workers.service';
import { loadDiffusionImageGenerator } from '../src/model/diffusion-image.generator';
import { createDialogueHarness, roundOutcome, type DialogueHarness } from './support/dialogue-harness.util';
import { TEST_DATABASE_URL, createTestEnv, until, type TestEnv } from './support/test-env.util';

/** Holds the job a conversation would enqueue, so the test can answer it with its own images. */
class HeldQueue implements GenerationQueuePort {
  last: GenerationJob | null = null;
  async enqueue(job: GenerationJob): Promise<{ jobId: string }> {
    this.last = job;
    return { jobId: `held-${job.roundId}` };
  }
}

/** A community that likes dark outlines and dislikes the others (no prompt ever names them). */
const TASTE: CommunityTaste = { outline: { dark: 1, none: -1, light: -1 }, textured: 0, shaded: 0, tilted: 0 };

/**
 * The learning loop through the real GPU server: labels a simulated community gave in Postgres
 * (rounds stored by the conversation core, PNGs in the image store, votes through the feedback
 * service) → a training run on the training worker trains the reward model, evaluates it against
 * the plain cosine on held-out dialogues and promotes it → the next round's images carry scores
 * from the new version → a rollback restores the previous state (no trained version: cosine).
 */
describe('the learning loop: labels → reward model → scored rounds → rollback', () => {
  let t: TestEnv;
  let app: INestApplication;
  let h: DialogueHarness;
  let queue: TrainingQueue;
  let versionsDir: string;
  let workDir: string;

  beforeAll(async () => {
    t = await createTestEnv('loop');
    versionsDir = await mkdtemp(join(tmpdir(), 'vca-loop-versions-'));
    workDir = await mkdtemp(join(tmpdir(), 'vca-loop-work-'));
    app = await createGpuServerApp({
      config: t.config({
        MODEL_DIR: 'models/default',
        ORT_INTRA_OP_THREADS: '1',
        VERSIONS_DIR: versionsDir,
        TRAINING_WORK_DIR: workDir,
        MIN_TRAINING_PAIRS: '50',
        MIN_COMMUNITY_PAIRS: '1000000',
        PROMOTION_MARGIN: '0.05',
        REWARD_MIN_HELDOUT_PAIRS: '20',
        REWARD_HELDOUT_SHARE: '0.3',
        REWARD_TOWER_STEPS: '5',
      }),
      loadGenerator: loadDiffusionImageGenerator,
    });
    await app.init();
    await app.get(JobWorkersService).waitUntilReady();
    h = await createDialogueHarness({ databaseUrl: TEST_DATABASE_URL, schema: t.schema, redisUrl: t.config().REDIS_URL, prefix: t.prefix });
    queue = new TrainingQueue({ redisUrl: t.config().REDIS_URL, prefix: t.prefix });
  });
  afterAll(async () => {
    await queue?.close();
    await h?.close();
    await app?.close();
    await t?.cleanup();
    for (const d of [versionsDir, workDir]) if (d) await rm(d, { recursive: true, force: true });
  });

  async function seedLabels(dialogues: number): Promise<void> {
    const held = new HeldQueue();
    const conversation = new ConversationService(h.dataSource, held, new RuleBasedPromptRefiner(), { candidates: 4, steps: 4, guidanceScale: 2.5 });
    const storage = new DiskImageStorage(t.imageDir);
    const renderer = new SceneRenderer({ size: 64 });
    const oracle = new SceneOracle();
    for (let d = 0; d < dialogues; d++) {
      // Every candidate shows what was asked; they differ in the styles the community cares about.
      const sim = simulateRound(11, d, TASTE, renderer, oracle, { errorRate: 0, raters: 3 });
      await conversation.handleMessage({ platform: 'web', workspaceId: 'local', channelId: 'c', threadId: `seed-${d}`, userId: `owner-${d}`, text: sim.prompt });
      const job = held.last!;
      const images = [];
      for (const [i, c] of sim.candidates.entries()) {
        const stored = await storage.put(encodePng(c.image));
        images.push({ candidateIndex: i, seed: job.candidates[i]!.seed, strength: 1, storageKey: stored.key, contentHash: stored.contentHash, width: 64, height: 64 });
      }
      const round = (await conversation.recordGenerationResult({ roundId: job.roundId, modelVersion: 'seeded', loraVersions: [], steps: 4, guidanceScale: 2.5, images, elapsedMs: 1 }))!;
      for (const [r, votes] of sim.votes.entries()) {
        const label = (i: number, signal: 'pick' | 'up' | 'down') =>
          h.feedback.recordFeedback({ platform: 'web', userId: `rater-${r}`, imageId: round.images[i]!.id, signal, source: 'web', platformEventId: `${d}-${r}-${signal}-${i}` });
        await label(votes.pick, 'pick');
      }
    }
  }

  it('trains, promotes, scores the next round with the new version, and rolls back', async () => {
    await seedLabels(48);
    const jobId = await queue.requestRun({ trigger: 'manual' });
    await until(async () => ['completed', 'failed'].includes((await (await queue.queue.getJob(jobId))?.getState()) ?? ''), 240_000, 'the training run');
    const job = (await queue.queue.getJob(jobId))!;
    expect(job.failedReason).toBeUndefined();
    const result = job.returnvalue as { trainingRunId: string; status: string; stages: Record<string, Record<string, { decision: string; reason: string; metrics: Record<string, number>; producedVersionId: string }>> };
    expect(result.status).toBe('succeeded');
    const reward = result.stages['reward']!['global']!;
    expect(reward.decision, reward.reason).toBe('promoted');
    // The trained model orders the held-out dialogues' labels better than the plain cosine.
    expect(reward.metrics['heldout_acc']).toBeGreaterThan(reward.metrics['cosine_acc']! + 0.05);
    expect(reward.metrics['pairs_mismatch']).toBeGreaterThan(0);

    const versions = new ModelVersionService(h.dataSource);
    const active = await versions.active('reward', 'web:local');
    expect(active?.id).toBe(reward.producedVersionId);
    expect(active?.trainingRunId).toBe(result.trainingRunId);
    expect(existsSync(join(versionsDir, active!.path, 'reward.json'))).toBe(true);
    const [run] = await t.sql<{ status: string; report: string; produced: unknown }>('SELECT status, report FROM training_runs WHERE id = $1', [result.trainingRunId]);
    expect(run!.status).toBe('succeeded');
    expect(run!.report).toMatch(/reward/);

    // The next round (generated by the embedded model) is scored by the promoted version.
    const next = await h.conversation.handleMessage({ platform: 'web', workspaceId: 'local', channelId: 'c', threadId: 'after-training', userId: 'u', text: 'a red circle' });
    expect(await roundOutcome(h, next.round.id, 60_000)).toBe('completed');
    const scored = await h.dataSource.query('SELECT reward_version_id, scores FROM images WHERE round_id = $1', [next.round.id]);
    expect(scored.length).toBeGreaterThan(0);
    for (const row of scored) {
      expect(row.reward_version_id).toBe(active!.id);
      expect(typeof row.scores.reward).toBe('number');
    }

    // Roll back: no earlier version, so rounds go back to the plain cosine (no version).
    await versions.rollback('reward', null);
    expect(await versions.active('reward', 'web:local')).toBeNull();
    const after = await h.conversation.handleMessage({ platform: 'web', workspaceId: 'local', channelId: 'c', threadId: 'after-rollback', userId: 'u', text: 'a red circle' });
    expect(await roundOutcome(h, after.round.id, 60_000)).toBe('completed');
    const unscored = await h.dataSource.query('SELECT reward_version_id, scores FROM images WHERE round_id = $1', [after.round.id]);
    for (const row of unscored) {
      expect(row.reward_version_id).toBeNull();
      expect(row.scores.reward).toBeCloseTo(row.scores.cosine, 6);
    }
  });
});
