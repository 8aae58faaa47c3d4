import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTokenizer } from '@vca/world';
import { trainBrieflyAndExport, WARM_START_BATCH, WARM_START_HYPER } from './warm-start.util';
import { createDiffusionTrainer, ModelFamilyConfigSchema, TINY_CONFIG, warmStartFromExport, worldTokenizer } from '../src';

const tok = buildTokenizer();
const tokenizer = worldTokenizer();

describe('UNet output skips (inputSkip, outSkip) and warm start from an export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vca-mf-skips-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('start at zero, so a UNet warm-started from an export without them computes the same loss; then they train', async () => {
    const plain = ModelFamilyConfigSchema.parse({ ...TINY_CONFIG, unet: { ...TINY_CONFIG.unet, inputSkip: false, outSkip: false } });
    const skips = ModelFamilyConfigSchema.parse({ ...TINY_CONFIG, unet: { ...TINY_CONFIG.unet, inputSkip: true, outSkip: true } });
    const { trainer: a, batch, rng, frozen } = await trainBrieflyAndExport(plain, dir);
    const feeds = batch(50, rng);
    const lossA = (await a.lossAndGradients(feeds)).loss;
    await a.release();

    const b = await createDiffusionTrainer(skips, tokenizer, tok.vocabSize, WARM_START_BATCH, WARM_START_HYPER, frozen);
    expect(warmStartFromExport(b, dir).sort()).toEqual(['conv_skip.bias', 'conv_skip.weight', 'skip_gate.bias', 'skip_gate.weight']);
    const { loss: lossB, grads } = await b.lossAndGradients(feeds);
    expect(lossB).toBeCloseTo(lossA, 5);
    for (const name of ['skip_gate.bias', 'conv_skip.weight']) expect(Math.max(...grads.get(name)!.map(Math.abs)), name).toBeGreaterThan(0);
    expect(Array.from(b.ema!.shadow.get('conv_out.weight')!)).toEqual(Array.from(b.params.get('conv_out.weight')!));
    await b.release();
  });
});
