/**
 * Runs a batched computation in chunks of a fixed batch size (for exports whose batch
 * dimension is static), padding the last chunk by repeating its last item and dropping the
 * padded results. `inputs` are batch-major arrays; `run` gets `size` items of each and returns
 * `size` items of output, each `outItem` long.
 */
export async function runInBatchChunks(
  batch: number,
  size: number,
  inputs: readonly Float32Array[],
  run: (chunk: Float32Array[]) => Promise<{ data: Float32Array; itemLength: number }>,
): Promise<Float32Array> {
  const itemLens = inputs.map((a) => a.length / batch);
  let out: Float32Array | null = null;
  for (let start = 0; start < batch; start += size) {
    const n = Math.min(size, batch - start);
    const chunk = inputs.map((a, k) => {
      const len = itemLens[k]!;
      const c = new Float32Array(size * len);
      for (let i = 0; i < size; i++) c.set(a.subarray((start + Math.min(i, n - 1)) * len, (start + Math.min(i, n - 1) + 1) * len), i * len);
      return c;
    });
    const r = await run(chunk);
    out ??= new Float32Array(batch * r.itemLength);
    out.set(r.data.subarray(0, n * r.itemLength), start * r.itemLength);
  }
  return out!;
}
