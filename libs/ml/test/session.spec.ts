import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createSession, cudaAvailable, GraphBuilder, spinConfig } from '@vca/ml';

function tiny() {
  const g = new GraphBuilder('tiny');
  g.op('Relu', [g.input('x', 'float32', [2])], {}, 'y');
  g.output('y', 'float32', [2]);
  return g.build();
}

describe('createSession', () => {
  it('runs on CPU with a configured thread count', async () => {
    const { session, device } = await createSession(tiny(), { threads: 2, spinning: false });
    expect(device).toBe('cpu');
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 2), [2]) });
    expect(Array.from(out['y'].data as Float32Array)).toEqual([0, 2]);
  });

  it('bounds how long idle threads spin (ORT session config), or lets them sleep at once', async () => {
    expect(spinConfig({ spinning: true, spinMicros: 250 })).toEqual({ session: { intra_op: { allow_spinning: '1', spin_duration_us: '250' }, inter_op: { allow_spinning: '0' } } });
    expect(spinConfig({ spinning: false, spinMicros: 250 })).toEqual({ session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } });
    // ORT accepts the entry: a session with a bounded spin runs.
    const { session } = await createSession(tiny(), { threads: 2, spinMicros: 250 });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(3, -4), [2]) });
    expect(Array.from(out['y'].data as Float32Array)).toEqual([3, 0]);
    await expect(createSession(tiny(), { spinMicros: 0 })).rejects.toThrow();
  });

  it.skipIf(cudaAvailable())('falls back to CPU with a warning when the CUDA EP is missing, or throws when required', async () => {
    const warnings: string[] = [];
    const { device } = await createSession(tiny(), { device: 'cuda' }, (m) => warnings.push(m));
    expect(device).toBe('cpu');
    expect(warnings[0]).toMatch(/CUDA execution provider unavailable.*Falling back to CPU/);
    await expect(createSession(tiny(), { device: 'cuda', requireDevice: true })).rejects.toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });
});
