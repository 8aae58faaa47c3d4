import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersionService, TrainingStageContext } from '@vca/core';
import { GpuServerEnvSchema, parseEnv } from '@vca/shared';
import { RewardStage } from '../src/training/reward.stage';

/** The reward stage on a model folder without the CLIP-style encoder pair (a user's SD export). */
describe('reward stage without a dual encoder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vca-sd-export-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is skipped with a reason that names the files to add, touching no model version', async () => {
    const config = parseEnv('gpu-server', GpuServerEnvSchema, { MODEL_DIR: dir });
    const versions = new Proxy({}, { get: () => () => Promise.reject(new Error('no model version may be touched')) }) as unknown as ModelVersionService;
    const stage = new RewardStage(config, versions);
    const ctx = { runId: '00000000-0000-4000-8000-000000000000', communityId: null, cutoff: new Date(), data: { labels: [], rounds: new Map() }, imageDir: dir, workDir: dir, previous: {}, progress: async () => undefined } satisfies TrainingStageContext;
    const outcome = await stage.run(ctx);
    expect(outcome.decision).toBe('skipped');
    expect(outcome.reason).toMatch(/image_encoder\/model\.onnx.*clip_text_encoder\/model\.onnx/s);
    expect(outcome.producedVersionId).toBeNull();
  });

  it('validates the reward settings', () => {
    const parse = (env: Record<string, string>) => parseEnv('gpu-server', GpuServerEnvSchema, env);
    expect(parse({})).toMatchObject({ REWARD_HELDOUT_SHARE: 0.2, REWARD_MIN_HELDOUT_PAIRS: 50, REWARD_TOWER_STEPS: 0, REWARD_MISMATCH_PER_ROUND: 1, REWARD_THUMBED_DOWN_WEIGHT: 0.1 });
    expect(() => parse({ REWARD_HELDOUT_SHARE: '1' })).toThrow(/REWARD_HELDOUT_SHARE/);
    expect(() => parse({ REWARD_THUMBED_DOWN_WEIGHT: '-0.1' })).toThrow(/REWARD_THUMBED_DOWN_WEIGHT/);
  });
});
