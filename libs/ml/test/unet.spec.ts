import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildUNet, createSession, numel, Rng } from '@vca/ml';

describe('buildUNet', () => {
  it('has the ~2.31M parameters of the issue-2 benchmark model and runs at any batch size', async () => {
    const unet = buildUNet();
    const count = unet.parameters.reduce((a, p) => a + numel(unet.graph.initializers.get(p)!.dims), 0);
    expect(count).toBe(2_313_412);
    expect(unet.parameters.filter((p) => /attn\.(self|cross)\.(q|k|v|out)\.weight$/.test(p))).toHaveLength(24);
    const { session } = await createSession(unet.graph, { threads: 1 });
    const rng = new Rng(0);
    for (const n of [1, 3]) {
      const out = await session.run({
        sample: new ort.Tensor('float32', rng.normalArray(n * 4 * 256), [n, 4, 16, 16]),
        timestep: new ort.Tensor('float32', new Float32Array(n).fill(10), [n]),
        context: new ort.Tensor('float32', rng.normalArray(n * 8 * 64), [n, 8, 64]),
      });
      expect(out[unet.output].dims).toEqual([n, 4, 16, 16]);
      expect((out[unet.output].data as Float32Array).every(Number.isFinite)).toBe(true);
    }
  });

  it('takes configurable channels', () => {
    const small = buildUNet({ channels: [32, 64], groups: 16 });
    expect(small.graph.initializers.get('down1.res.conv1.weight')!.dims).toEqual([64, 32, 3, 3]);
    expect(small.graph.initializers.get('up0.res.conv1.weight')!.dims).toEqual([32, 96, 3, 3]);
  });
});
