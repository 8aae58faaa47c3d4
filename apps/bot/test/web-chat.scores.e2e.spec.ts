import { randomUUID } from 'node:crypto';
import { ModelVersionService } from '@vca/core';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoundView, ThreadDetail } from '../src/chat/round-view';
import { startTestBot, until, type BotTestEnv } from './support/bot-test-env';
import { startRealGpuServer, type RealGpuServer } from './support/gpu-server.real';

/**
 * Reward scores end to end through the web chat: the bot's API and the real GPU server on the
 * shipped default model (whose dual encoder scores the candidates), nothing doubled.
 */
describe('web chat shows reward scores', () => {
  let bot: BotTestEnv;
  let gpu: RealGpuServer;
  const user = `scores-${randomUUID()}`;

  beforeAll(async () => {
    bot = await startTestBot('scores', { CANDIDATES_PER_ROUND: '2', OVERSAMPLE: '3', GUIDANCE_SCALE: '2.5', GENERATION_STEPS: '6' });
    gpu = await startRealGpuServer(bot, { modelDir: 'models/default' });
  });
  afterAll(async () => {
    await gpu?.close();
    await bot?.close();
  });

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(bot.baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', 'x-vca-user': user },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  it('each candidate carries its score, best first; the round names the trained version that scored it', async () => {
    const thread = await call<ThreadDetail>('POST', '/api/threads', { prompt: 'a red circle in the top left' });
    const done = await until(async () => {
      const t = await call<ThreadDetail>('GET', `/api/threads/${thread.id}`);
      return t.rounds[0]?.status === 'completed' ? t : null;
    }, 'round 1', 60_000);
    const r1 = done.rounds[0]!;
    expect(r1.images).toHaveLength(2);
    expect(r1.images.every((i) => i.score !== null && typeof i.score.reward === 'number' && typeof i.score.cosine === 'number')).toBe(true);
    expect(r1.images[0]!.score!.reward).toBeGreaterThanOrEqual(r1.images[1]!.score!.reward);
    // No trained version yet: the plain cosine scored it, and the round names no version.
    expect(r1.scoredBy).toBeNull();

    // A round scored by a trained version names it. The rows are pointed at a registered version
    // directly here; training a real version is the training pipeline's own test.
    const ds = bot.app.get(DataSource);
    const version = await new ModelVersionService(ds).register({ name: 'reward-2026-12-07', kind: 'reward', path: 'reward/x' });
    await ds.query('UPDATE images SET reward_version_id = $1 WHERE round_id = $2', [version.id, r1.id]);
    const again = await call<ThreadDetail>('GET', `/api/threads/${thread.id}`);
    expect(again.rounds[0]!.scoredBy).toBe('reward-2026-12-07');

    // Nobody voted: round 2 starts from the best-scored candidate.
    const r2 = await call<RoundView>('POST', `/api/threads/${thread.id}/messages`, { text: 'make it blue' });
    expect(r2.parentImageId).toBe(r1.images[0]!.id);
  });
});
