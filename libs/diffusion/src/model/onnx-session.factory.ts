import * as ort from 'onnxruntime-node';
import { z } from 'zod';

export const RuntimeConfigSchema = z.object({
  /** 'cuda' needs onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12 on a CUDA host. */
  executionProvider: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Intra-op threads per session; 0 lets ONNX Runtime use one per core. */
  threads: z.number().int().min(0).default(0),
  cudaDeviceId: z.number().int().min(0).default(0),
  /** Fail instead of falling back to CPU when CUDA is asked for but unavailable. */
  requireDevice: z.boolean().default(false),
});
export type RuntimeConfig = z.input<typeof RuntimeConfigSchema>;

export interface OpenedSession {
  session: ort.InferenceSession;
  device: 'cpu' | 'cuda';
}

/** CUDA failures seen in this process, so the other components of a model fail fast (and log once). */
const cudaFailures = new Map<number, string>();

/**
 * Opens one ONNX Runtime session from a model file. From a path (not bytes) so ONNX Runtime
 * resolves `model.onnx_data` external weights next to the file and never copies them into JS.
 * Same device semantics as `@vca/ml`'s `createSession` (which takes in-memory graphs).
 */
export async function openSession(path: string, config: z.output<typeof RuntimeConfigSchema>, warn: (m: string) => void = (m) => process.emitWarning(m)): Promise<OpenedSession> {
  const base: ort.InferenceSession.SessionOptions = {
    // The binding rejects an explicit undefined, so the key is left out for "ORT chooses".
    ...(config.threads ? { intraOpNumThreads: config.threads } : {}),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  if (config.executionProvider === 'cuda') {
    const seen = cudaFailures.get(config.cudaDeviceId);
    try {
      if (seen) throw new Error(seen);
      if (!ort.listSupportedBackends().some((b) => b.name === 'cuda')) throw new Error('this onnxruntime-node build has no CUDA execution provider');
      const session = await ort.InferenceSession.create(path, { ...base, executionProviders: [{ name: 'cuda', deviceId: config.cudaDeviceId }, 'cpu'] });
      return { session, device: 'cuda' };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0]!.slice(0, 300);
      cudaFailures.set(config.cudaDeviceId, reason);
      const msg = `CUDA unavailable for ${path} (${reason}); install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a host with CUDA 12 and cuDNN 9`;
      if (config.requireDevice) throw new Error(msg);
      if (!seen) warn(`${msg}. Falling back to CPU.`);
    }
  }
  return { session: await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] }), device: 'cpu' };
}
