import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffusionPipeline } from '@vca/diffusion';
import { buildTokenizer } from '@vca/world';
import { latentShape, ModelFamilyConfigSchema, RECOMMENDED_GUIDANCE, unetDims } from '../src';

const DIR = resolve(__dirname, '../../../models/default');
const shipped = existsSync(join(DIR, 'model_family.json'));

function totalBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => {
    const p = join(dir, name);
    return sum + (statSync(p).isDirectory() ? totalBytes(p) : statSync(p).size);
  }, 0);
}

describe.skipIf(!shipped)('the committed default model (models/default)', () => {
  it('has the default config and the world tokenizer, and stays under 40 MB', () => {
    const family = JSON.parse(readFileSync(join(DIR, 'model_family.json'), 'utf8'));
    const config = ModelFamilyConfigSchema.parse({});
    // Everything that shapes the exported graphs and the schedule must be the default; the shares
    // of training timesteps are a training-time choice (a warm-started phase may use others, which
    // model_family.json records) and only need to be valid.
    const { highNoiseShare: _h, lowNoiseShare: _l, ...shipped } = ModelFamilyConfigSchema.parse(family.config);
    const { highNoiseShare: _dh, lowNoiseShare: _dl, ...defaults } = config;
    expect(shipped).toEqual(defaults);
    const tok = buildTokenizer();
    expect([family.vocabSize, family.maxLength]).toEqual([tok.vocabSize, tok.maxLength]);
    expect(JSON.parse(readFileSync(join(DIR, 'tokenizer', 'tokenizer.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(tok.tokenizer)));
    const unet = JSON.parse(readFileSync(join(DIR, 'unet', 'config.json'), 'utf8'));
    const { channels, size } = latentShape(config);
    expect([unet.sample_size, unet.in_channels, unet.cross_attention_dim]).toEqual([size, channels, unetDims(config, tok.maxLength).contextDim]);
    expect(totalBytes(DIR)).toBeLessThan(40 * 1024 * 1024);
  });

  it('loads in DiffusionPipeline like any export and generates a 64×64 image', async () => {
    const pipe = await DiffusionPipeline.load(DIR, { threads: 1 });
    try {
      // It recommends the guidance scale it was tuned for (npm run generate uses it by default).
      expect(pipe.model.recommendedGuidance).toBe(RECOMMENDED_GUIDANCE);
      const { images } = await pipe.generate({ prompt: 'a large red circle in the center on a blue background', candidates: [{ seed: 1 }], steps: 2, guidanceScale: 3 });
      expect([images[0]!.width, images[0]!.height]).toEqual([64, 64]);
    } finally {
      await pipe.dispose();
    }
  });
});
