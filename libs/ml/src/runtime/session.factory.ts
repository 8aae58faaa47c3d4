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
   * Let idle intra-op threads spin for the next parallel section, for at most `spinMicros`, before
   * they sleep. false makes them sleep at once: on a CPU shared with other busy processes,
   * spinning threads burn cycles the others need.
   */
  spinning: z.boolean().default(true),
  /**
   * How long an idle intra-op thread spins (µs) before it sleeps. Bounded spinning beat both
   * ORT's own unbounded default and no spinning: the issue-2 UNet at batch 32 on 2 threads (2-vCPU
   * Zen 5 VM) ran its forward in 35 ms (unbounded 53–59, none 38–44) and its training step in
   * 145–153 ms (unbounded 167–177, none 159–166); 100–2000 µs all did about as well.
   */
  spinMicros: z.number().int().positive().max(1_000_000).default(500),
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

export type SpinOptions = Pick<z.output<typeof runtimeOptionsSchema>, 'spinning' | 'spinMicros'>;

/** ORT's session config entries for how idle intra-op threads wait (no inter-op pool is used). */
export function spinConfig(o: SpinOptions): Record<string, unknown> {
  const intra_op = o.spinning ? { allow_spinning: '1', spin_duration_us: String(o.spinMicros) } : { allow_spinning: '0' };
  return { session: { intra_op, inter_op: { allow_spinning: '0' } } };
}

function sessionOptions(o: z.output<typeof runtimeOptionsSchema>, device: 'cpu' | 'cuda'): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device === 'cuda' ? [{ name: 'cuda', deviceId: o.cudaDeviceId }, 'cpu'] : ['cpu'],
    // The binding rejects an explicit undefined, so the key is left out for "ORT chooses".
    ...(o.threads ? { intraOpNumThreads: o.threads } : {}),
    interOpNumThreads: 1,
    graphOptimizationLevel: o.graphOptimizationLevel,
    executionMode: 'sequential',
    extra: spinConfig(o),
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
