import { numel } from './dtype.util';

/**
 * Pure data movement as index maps: for a chain of Transposes and axis reversals applied to a
 * tensor, which source element each result element is. Lets passes replace such chains with one
 * GatherElements (ORT's CPU Transpose and reversing Slice walk higher-rank tensors element by
 * element; a gather by a precomputed index runs at about the speed of a copy).
 */

/** One pure data-movement step: a Transpose, or a reversal of some axes (Slice with step −1). */
export type LayoutStep = { op: 'transpose'; perm: number[] } | { op: 'reverse'; axes: number[] };

function strides(shape: number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1] * shape[i + 1];
  return out;
}

/** Applies one step to `data` (shaped `shape`, row-major); returns the result and its shape. */
export function applyStep(data: Int32Array, shape: number[], step: LayoutStep): [Int32Array<ArrayBuffer>, number[]] {
  const out = new Int32Array(data.length);
  const outShape = step.op === 'transpose' ? step.perm.map((p) => shape[p]) : shape;
  const inStrides = strides(shape);
  // Per output axis: the input stride it walks, and for reversed axes the start offset.
  const walk = step.op === 'transpose' ? step.perm.map((p) => inStrides[p]) : inStrides.map((s, a) => (step.axes.includes(a) ? -s : s));
  let base = 0;
  if (step.op === 'reverse') for (const a of step.axes) base += (shape[a] - 1) * inStrides[a];
  const rank = outShape.length;
  const counter = new Array<number>(rank).fill(0);
  let src = base;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[src];
    for (let a = rank - 1; a >= 0; a--) {
      counter[a]++;
      src += walk[a];
      if (counter[a] < outShape[a]) break;
      src -= walk[a] * outShape[a];
      counter[a] = 0;
    }
  }
  return [out, outShape];
}

/** For each element of `steps` applied to a tensor of shape `shape`, the flat source index it reads. */
export function permutationIndex(shape: number[], steps: LayoutStep[]): Int32Array<ArrayBuffer> {
  let map: Int32Array<ArrayBuffer> = Int32Array.from({ length: numel(shape) }, (_, i) => i);
  let s = shape;
  for (const step of steps) [map, s] = applyStep(map, s, step);
  return map;
}
