import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { encodeModel } from '../onnx/onnx-codec';
import type { Graph } from '../onnx/graph.model';
import { useNchwcConvs } from './nchwc-conv.transform';

export const runtimeOptionsSchema = z.object({
  /** 'cuda' needs onnxruntime-node installed with its CUDA binaries (ONNXRUNTIME_NODE_INSTALL=cuda12). */
  device: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Intra-op threads; 0 lets ONNX Runtime choose (one per core). */
  threads: z.number().int().nonnegative().default(0),
  cudaDeviceId: z.number().int().nonnegative().default(0),
  /** When CUDA is asked for but unavailable: fall back to CPU with a warning (default) or throw. */
  requireDevice: z.boolean().default(false),
  graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  /**
   * Let idle intra-op threads spin (ORT's default). On a CPU shared with other busy processes,
   * spinning threads burn cycles the others need; false makes them sleep.
   */
  spinning: z.boolean().default(true),
  /**
   * On CPU, run convolutions with run-time kernels (training graphs) in ORT's blocked NCHWc
   * layout, as ORT already does for constant kernels (see runtime/nchwc-conv.transform.ts).
   */
  nchwc: z.boolean().default(true),
});
export type RuntimeOptions = z.input<typeof runtimeOptionsSchema>;

export interface SessionHandle {
  session: ort.InferenceSession;
  /** The device the session really runs on (after any fallback). */
  device: 'cpu' | 'cuda';
}

export type Warn = (message: string) => void;

/**
 * True when this onnxruntime-node build can load the CUDA EP. The binding lists 'cuda' on every
 * Linux x64 build; the provider library itself is only there after an install with
 * ONNXRUNTIME_NODE_INSTALL=cuda12, next to libonnxruntime.
 */
export function cudaAvailable(): boolean {
  const cuda = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!cuda) return false;
  if (cuda.bundled) return true;
  const binDir = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binDir, 'libonnxruntime_providers_cuda.so'));
}

function sessionOptions(o: z.output<typeof runtimeOptionsSchema>, device: 'cpu' | 'cuda'): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device === 'cuda' ? [{ name: 'cuda', deviceId: o.cudaDeviceId }, 'cpu'] : ['cpu'],
    // The binding rejects an explicit undefined, so the key is left out for "ORT chooses".
    ...(o.threads ? { intraOpNumThreads: o.threads } : {}),
    interOpNumThreads: 1,
    graphOptimizationLevel: o.graphOptimizationLevel,
    executionMode: 'sequential',
    ...(o.spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
  };
}

/** Creates an ONNX Runtime session for a graph (or encoded model bytes) on the configured device. */
export async function createSession(model: Graph | Uint8Array, options: RuntimeOptions = {}, warn: Warn = (m) => process.emitWarning(m)): Promise<SessionHandle> {
  const o = runtimeOptionsSchema.parse(options);
  const encode = (g: Graph | Uint8Array) => (g instanceof Uint8Array ? g : encodeModel(g).model);
  if (o.device === 'cuda') {
    try {
      if (!cudaAvailable()) throw new Error('this onnxruntime-node build has no CUDA execution provider');
      return { session: await ort.InferenceSession.create(encode(model), sessionOptions(o, 'cuda')), device: 'cuda' };
    } catch (err) {
      const msg = `CUDA execution provider unavailable (${(err as Error).message}); install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a host with CUDA 12 and cuDNN 9`;
      if (o.requireDevice) throw new Error(msg);
      warn(`${msg}. Falling back to CPU.`);
    }
  }
  const cpuModel = o.nchwc && !(model instanceof Uint8Array) ? await useNchwcConvs(model) : model;
  return { session: await ort.InferenceSession.create(encode(cpuModel), sessionOptions(o, 'cpu')), device: 'cpu' };
}
