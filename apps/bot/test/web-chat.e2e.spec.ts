import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoundView, ThreadDetail } from '../src/chat/round-view';
import { ADMIN_TOKEN, startTestBot, until, type BotTestEnv } from './support/bot-test-env';
import { startRealGpuServer, type RealGpuServer } from './support/gpu-server.real';

/**
 * End to end with nothing doubled: the bot's HTTP API, PostgreSQL, Redis/BullMQ and the real GPU
 * server running the diffusion runtime on the fixture model.
 */
describe('web chat with the real GPU server', () => {
  let bot: BotTestEnv;
  let gpu: RealGpuServer;
  const user = `e2e-${randomUUID()}`;

  beforeAll(async () => {
    bot = await startTestBot('e2e', { CANDIDATES_PER_ROUND: '2' });
    gpu = await startRealGpuServer(bot);
  });

  afterAll(async () => {
    await gpu?.close();
    await bot?.close();
  });

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(bot.baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', 'x-vca-user': user, authorization: `Bearer ${ADMIN_TOKEN}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  const finished = (threadId: string, rounds: number) =>
    until(async () => {
      const t = await call<ThreadDetail>('GET', `/api/threads/${threadId}`);
      return t.rounds.length === rounds && t.rounds.every((r) => r.status === 'completed') ? t : null;
    }, `${rounds} completed rounds`, 60_000);

  it('runs three rounds: text-to-image, then img2img from the kept image, with labels stored', async () => {
    const thread = await call<ThreadDetail>('POST', '/api/threads', { prompt: 'a red circle on a blue square' });
    let detail = await finished(thread.id, 1);
    const r1 = detail.rounds[0]!;
    expect(r1).toMatchObject({ mode: 'txt2img', status: 'completed' });
    expect(r1.images).toHaveLength(2);
    expect(r1.images[0]!.modelVersion).toMatch(/^vca-bot-model-/);
    const png = await fetch(bot.baseUrl + r1.images[0]!.url);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await png.arrayBuffer()).slice(1, 4)).toEqual(new Uint8Array([0x50, 0x4e, 0x47])); // "PNG"

    const picked = await call<RoundView>('POST', `/api/images/${r1.images[1]!.id}/feedback`, { signal: 'pick', eventId: randomUUID() });
    expect(picked.images[1]!.kept).toBe(true);
    await call('POST', `/api/images/${r1.images[0]!.id}/feedback`, { signal: 'down', eventId: randomUUID() });

    const r2 = await call<RoundView>('POST', `/api/threads/${thread.id}/messages`, { text: 'make the circle green' });
    expect(r2).toMatchObject({ mode: 'img2img', parentImageId: r1.images[1]!.id });
    detail = await finished(thread.id, 2);
    await call('POST', `/api/images/${detail.rounds[1]!.images[0]!.id}/feedback`, { signal: 'up', eventId: randomUUID() });

    // No pick in round 2: round 3 starts from the best-rated candidate.
    const r3 = await call<RoundView>('POST', `/api/threads/${thread.id}/messages`, { text: 'add a yellow triangle' });
    expect(r3).toMatchObject({ mode: 'img2img', parentImageId: detail.rounds[1]!.images[0]!.id });
    detail = await finished(thread.id, 3);
    expect(detail.rounds.map((r) => r.images.length)).toEqual([2, 2, 2]);
    expect(detail.rounds[2]!.images.every((i) => i.strength !== null && i.strength > 0 && i.strength < 1)).toBe(true);

    const labels = await call<Array<{ signal: string }>>('GET', '/api/moderation/labels');
    expect(labels.map((l) => l.signal).sort()).toEqual(['down', 'pick', 'up']);
  });
});
