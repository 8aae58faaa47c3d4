import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@vca/ml';
import { buildTokenizer } from '@vca/world';
import { createDiffusionTrainer, diffusionBatcher, ModelFamilyConfigSchema, ModelFamilyTrainer, parseTrainArgs, readStageState, runStage, textPrefix, TINY_CONFIG, worldTokenizer } from '../src';

const config = ModelFamilyConfigSchema.parse(TINY_CONFIG);
const tokenizer = worldTokenizer();
const vocab = buildTokenizer().vocabSize;
const BATCH = 4;
const hyper = (steps: number) => ({ lr: 3e-3, steps, warmupSteps: 0, emaDecay: 0.9, threads: 1, seed: 3 });
const silent = () => {};

describe('text encoder + UNet training stage (tiny config)', () => {
  const root = mkdtempSync(join(tmpdir(), 'vca-mf-train-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reduces the loss on a batch within a few steps', async () => {
    const trainer = await createDiffusionTrainer(config, tokenizer, vocab, BATCH, hyper(8));
    const feeds = diffusionBatcher({ config, seed: 3, batch: BATCH, tokenizer })(0, new Rng(1));
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) losses.push((await trainer.trainStep(feeds)).loss);
    await trainer.release();
    expect(losses[7]!).toBeLessThan(0.8 * losses[0]!);
  });

  it('computes the same loss and gradients with two data-parallel replicas (--replicas 2)', async () => {
    const one = await createDiffusionTrainer(config, tokenizer, vocab, BATCH, hyper(1));
    const two = await createDiffusionTrainer(config, tokenizer, vocab, BATCH, { ...hyper(1), threads: 2, replicas: 2 });
    const feeds = diffusionBatcher({ config, seed: 3, batch: BATCH, tokenizer })(0, new Rng(1));
    const a = await one.lossAndGradients(feeds);
    const b = await two.lossAndGradients(feeds);
    expect(b.loss).toBeCloseTo(a.loss, 5);
    for (const [name, g] of a.grads) {
      const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
      g.forEach((v, i) => expect(Math.abs(b.grads.get(name)![i] - v) / scale, name).toBeLessThan(1e-3));
    }
    await one.release();
    await two.release();
  });

  it('keeps a given text encoder frozen: only UNet tensors train, the text weights stay as given', async () => {
    const probe = await createDiffusionTrainer(config, tokenizer, vocab, BATCH, hyper(1));
    const prefix = `${textPrefix(config)}.`;
    const text = new Map([...probe.weights()].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k, { ...t, data: (t.data as Float32Array).map((v) => v + 0.5) }]));
    await probe.release();
    const trainer = await createDiffusionTrainer(config, tokenizer, vocab, BATCH, hyper(1), text);
    expect(text.size).toBeGreaterThan(0);
    expect([...trainer.params.keys()].some((k) => k.startsWith(prefix))).toBe(false);
    expect([...trainer.params.keys()]).toContain('text_proj.weight');
    await trainer.release();
  });

  it('resumed from a checkpoint ends with exactly the weights of an uninterrupted run', async () => {
    const batch = diffusionBatcher({ config, seed: 3, batch: BATCH, tokenizer });
    const straight = await createDiffusionTrainer(config, tokenizer, vocab, BATCH, hyper(4));
    await runStage(straight, { name: 'a', steps: 4, batch, workDir: join(root, 'a'), checkpointEvery: 100, log: silent });

    const first = await createDiffusionTrainer(config, tokenizer, vocab, BATCH, hyper(4));
    await runStage(first, { name: 'b', steps: 2, batch, workDir: join(root, 'b'), checkpointEvery: 100, log: silent });
    await first.release();
    const resumed = await createDiffusionTrainer(config, tokenizer, vocab, BATCH, hyper(4));
    const r = await runStage(resumed, { name: 'b', steps: 4, batch, workDir: join(root, 'b'), checkpointEvery: 100, log: silent });

    expect(r.step).toBe(4);
    // The stage's record (read by a later standalone export) says what the checkpoint trained, wall time summed over both runs.
    const state = readStageState(join(root, 'b'))!;
    expect(state.step).toBe(4);
    expect(state.wallSeconds).toBeGreaterThan(0);
    expect(state.wallSeconds).toBeLessThanOrEqual(r.wallSeconds);
    expect(readStageState(join(root, 'never-trained'))).toBeUndefined();
    for (const [name, w] of straight.params) expect(Array.from(resumed.params.get(name)!), name).toEqual(Array.from(w));
    for (const [name, w] of straight.ema!.shadow) expect(Array.from(resumed.ema!.shadow.get(name)!), name).toEqual(Array.from(w));
    await straight.release();
    await resumed.release();
  });
});

describe('model:train export record', () => {
  const root = mkdtempSync(join(tmpdir(), 'vca-mf-lineage-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("keeps the training record of the model a warm start came from, so every phase stays on record", () => {
    const first = join(root, 'first');
    new ModelFamilyTrainer(parseTrainArgs(['--stage', 'export', '--preset', 'tiny', '--work', join(root, 'w1'), '--out', first]), silent).export();
    const second = join(root, 'second');
    new ModelFamilyTrainer(parseTrainArgs(['--stage', 'export', '--preset', 'tiny', '--work', join(root, 'w2'), '--out', second, '--init-from', first]), silent).export();
    const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'model_family.json'), 'utf8'));
    expect(read(first).training.warmStart).toBeUndefined();
    expect(read(second).training.warmStart).toEqual({ from: first, training: read(first).training });
  });
});
