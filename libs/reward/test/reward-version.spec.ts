import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '@vca/ml';
import { DualEncoderFeatures, findEncoderTaps, findRewardEncoders, fixtureRewardVersion, loadRewardScorer, loadRewardVersion, saveRewardVersion, type RewardVersion } from '@vca/reward';
import { SceneRenderer, encodePng, sampleScene } from '@vca/world';

const MODEL = 'models/default';
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'vca-reward-version-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('dual-encoder features', () => {
  it('taps the image tower at every resolution of the shipped encoder', () => {
    const taps = findEncoderTaps(loadModel(join(MODEL, 'image_encoder/model.onnx')));
    // Outputs of the four stride-2 stages (32×32, 16×16, 8×8 and the 4×4 map before flattening).
    expect(taps.channels).toEqual([32, 64, 96, 64]);
  });

  it('says what to add when a model folder has no CLIP-style encoder pair', () => {
    const dir = join(work, 'sd-export');
    cpSync(join(MODEL, 'tokenizer'), join(dir, 'tokenizer'), { recursive: true });
    const found = findRewardEncoders(dir);
    expect(found.ok).toBe(false);
    if (!found.ok) expect(found.reason).toMatch(/image_encoder\/model\.onnx.*clip_text_encoder\/model\.onnx/s);
  });

  it('encodes PNGs and prompts into unit embeddings and style statistics', async () => {
    const enc = await DualEncoderFeatures.load(MODEL, { threads: 1 });
    const renderer = new SceneRenderer({ size: 64 });
    const [f] = await enc.encodePngs([encodePng(renderer.render(sampleScene(1)))]);
    expect(f!.style.length).toBe(enc.styleDim);
    expect(Math.hypot(...f!.embed)).toBeCloseTo(1, 3);
    const [t] = await enc.encodeTexts(['a red circle']);
    expect(Math.hypot(...t!)).toBeCloseTo(1, 3);
    await enc.dispose();
  });
});

describe('reward versions and the scorer', () => {
  const tinyVersion = (): Promise<RewardVersion> => fixtureRewardVersion(MODEL);

  it('round-trips a version folder, manifest last', async () => {
    const version = await tinyVersion();
    const dir = join(work, 'v1');
    saveRewardVersion(dir, version);
    const back = loadRewardVersion(dir);
    expect(back.manifest).toEqual(version.manifest);
    expect([...back.head.tensors.keys()].sort()).toEqual([...version.head.tensors.keys()].sort());
    expect(() => loadRewardVersion(join(work, 'nothing'))).toThrow(/not a complete reward version/);
  });

  it('scores with the version, with the plain cosine beside it, and the baseline scorer returns the cosine', async () => {
    const dir = join(work, 'v2');
    saveRewardVersion(dir, await tinyVersion());
    const renderer = new SceneRenderer({ size: 64 });
    const pngs = [5, 6, 7].map((s) => encodePng(renderer.render(sampleScene(s))));
    const trained = await loadRewardScorer({ modelDir: MODEL, versionDir: dir, versionId: 'v2', threads: 1 });
    const baseline = await loadRewardScorer({ modelDir: MODEL, versionDir: null, versionId: null, threads: 1 });
    const a = await trained.score('a red circle', pngs);
    const b = await baseline.score('a red circle', pngs);
    expect(trained.versionId).toBe('v2');
    expect(baseline.versionId).toBeNull();
    expect(a.map((s) => s.cosine)).toEqual(b.map((s) => s.cosine));
    for (const s of b) expect(s.reward).toBe(s.cosine);
    expect(a.map((s) => s.reward)).not.toEqual(a.map((s) => s.cosine));
    await Promise.all([trained.dispose(), baseline.dispose()]);
  });

  it('refuses a version trained on other encoders', async () => {
    const version = await tinyVersion();
    version.manifest.encoder.imageEncoderSha256 = '0'.repeat(64);
    const dir = join(work, 'v3');
    saveRewardVersion(dir, version);
    await expect(loadRewardScorer({ modelDir: MODEL, versionDir: dir, versionId: 'v3' })).rejects.toThrow(/other encoders/);
    writeFileSync(join(dir, 'reward.json'), '{"format":"something-else"}');
    await expect(loadRewardScorer({ modelDir: MODEL, versionDir: dir, versionId: 'v3' })).rejects.toThrow();
  });
});
