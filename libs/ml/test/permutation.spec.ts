import { describe, expect, it } from 'vitest';
import { blockedKernelIndex, GraphBuilder, permutationIndex, traceKernelChain } from '@vca/ml';

/** Element (indices) of a row-major tensor of `shape` at flat position `flat`. */
function unflatten(flat: number, shape: number[]): number[] {
  const idx: number[] = [];
  for (let a = shape.length - 1; a >= 0; a--) {
    idx.unshift(flat % shape[a]);
    flat = Math.floor(flat / shape[a]);
  }
  return idx;
}
const flatten = (idx: number[], shape: number[]) => idx.reduce((f, v, a) => f * shape[a] + v, 0);

describe('permutation index maps', () => {
  it('a transpose reads out[i…] = in[perm⁻¹(i…)]', () => {
    const shape = [2, 3, 4, 5];
    const perm = [2, 0, 3, 1];
    const map = permutationIndex(shape, [{ op: 'transpose', perm }]);
    const outShape = perm.map((p) => shape[p]);
    for (let f = 0; f < map.length; f++) {
      const o = unflatten(f, outShape);
      const src = new Array<number>(4);
      perm.forEach((p, a) => (src[p] = o[a]));
      expect(map[f]).toBe(flatten(src, shape));
    }
  });

  it('a reversal and a chain of steps compose in order', () => {
    const shape = [3, 2, 4];
    const map = permutationIndex(shape, [{ op: 'transpose', perm: [1, 0, 2] }, { op: 'reverse', axes: [0, 2] }]);
    // After the transpose the shape is [2, 3, 4]; out[a, b, c] = in[b, 1 − a, 3 − c].
    for (let f = 0; f < map.length; f++) {
      const [a, b, c] = unflatten(f, [2, 3, 4]);
      expect(map[f]).toBe(flatten([b, 1 - a, 3 - c], shape));
    }
    expect([...map].sort((x, y) => x - y)).toEqual([...Array(24).keys()]);
  });
});

describe('NCHWc kernel chains', () => {
  const shapes = new Map<string, number[]>([['w', [32, 16, 3, 3]]]);

  it('follows the flipped, channel-swapped kernel of an input gradient back to the weight', () => {
    const g = new GraphBuilder('k');
    g.input('w', 'float32', [32, 16, 3, 3]);
    const flipped = g.slice(g.transpose('w', [1, 0, 2, 3]), [-1, -1], [-4, -4], [2, 3], [-1, -1]);
    const chain = traceKernelChain(g.build(), flipped, (n) => (n === flipped ? [16, 32, 3, 3] : shapes.get(n)));
    expect(chain.source).toBe('w');
    expect(chain.steps).toEqual([{ op: 'transpose', perm: [1, 0, 2, 3] }, { op: 'reverse', axes: [2, 3] }]);
  });

  it('stops at a slice that drops elements (not a permutation)', () => {
    const g = new GraphBuilder('k');
    g.input('w', 'float32', [32, 16, 3, 3]);
    const part = g.slice('w', [0], [16], [0]);
    const chain = traceKernelChain(g.build(), part, (n) => (n === part ? [16, 16, 3, 3] : shapes.get(n)));
    expect(chain).toEqual({ source: part, sourceShape: [16, 16, 3, 3], steps: [] });
  });

  it('orders the kernel as [O/B, I/B, kH, kW, Bi, Bo], or [O/B, I, kH, kW, Bo] for few input channels', () => {
    const B = 8;
    const [o, i, kh, kw] = [16, 16, 2, 3];
    const idx = blockedKernelIndex({ source: 'w', sourceShape: [o, i, kh, kw], steps: [] }, [o, i, kh, kw], B, false);
    for (let p = 0; p < idx.length; p++) {
      const [ob, ib, y, x, bi, bo] = unflatten(p, [o / B, i / B, kh, kw, B, B]);
      expect(idx[p]).toBe(flatten([ob * B + bo, ib * B + bi, y, x], [o, i, kh, kw]));
    }
    // Output channels padded to a whole block read one past the source (where a zero is appended).
    const padded = blockedKernelIndex({ source: 'w', sourceShape: [4, i, kh, kw], steps: [] }, [4, i, kh, kw], B, false, B);
    for (let p = 0; p < padded.length; p++) {
      const [, ib, y, x, bi, bo] = unflatten(p, [1, i / B, kh, kw, B, B]);
      expect(padded[p]).toBe(bo < 4 ? flatten([bo, ib * B + bi, y, x], [4, i, kh, kw]) : 4 * i * kh * kw);
    }
    const direct = blockedKernelIndex({ source: 'w', sourceShape: [o, 3, kh, kw], steps: [] }, [o, 3, kh, kw], B, true);
    for (let p = 0; p < direct.length; p++) {
      const [ob, c, y, x, bo] = unflatten(p, [o / B, 3, kh, kw, B]);
      expect(direct[p]).toBe(flatten([ob * B + bo, c, y, x], [o, 3, kh, kw]));
    }
  });
});
