import { z } from 'zod';
import { CommonEnvFields, envBoolean, envInt, envPort } from './env-fields';
import { cachedEnv } from './env.util';

/** Environment of apps/gpu-server. Defaults work with PostgreSQL and Redis on localhost. */
export const GpuServerEnvSchema = z.object({
  ...CommonEnvFields,
  PORT: envPort(3001),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Model family directory (ONNX + tokenizer + configs); the shipped default when unset. */
  MODEL_DIR: z.string().min(1).default('models/default'),
  /** onnxruntime execution provider; `cuda` needs an onnxruntime-node build with CUDA. */
  ORT_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Intra-op threads per ORT session; 0 lets onnxruntime use one per core. */
  ORT_INTRA_OP_THREADS: envInt(0, 256, 0),
  /** Jobs one process runs at once; one per GPU is usual, since a job already fills it. */
  GENERATION_CONCURRENCY: envInt(1, 64, 1),
  /** BullMQ lock: a worker that dies is detected after about this long and its job retried. */
  JOB_LOCK_MS: envInt(1000, 600_000, 30_000),
  /** Nightly training schedule (cron, 5 fields) and its time zone. */
  TRAINING_CRON: z
    .string()
    .regex(/^\S+(\s+\S+){4,5}$/, 'expected a cron expression with 5 or 6 fields')
    .default('0 3 * * *'),
  TRAINING_TZ: z.string().min(1).default('UTC'),
  /** Whether this process runs the workers; HTTP-only replicas set it to false. */
  WORKERS_ENABLED: envBoolean.default(true),
});
export type GpuServerConfig = z.infer<typeof GpuServerEnvSchema>;

export const gpuServerEnv = cachedEnv('gpu-server', GpuServerEnvSchema);
