import { z } from 'zod';
import { CommonEnvFields, envBoolean, envInt, envPort } from './env-fields';
import { cachedEnv } from './env.util';

/** Short names of the queues a GPU server can consume (WORKER_QUEUES). */
export const WORKER_QUEUE_NAMES = ['generation', 'training'] as const;
export type WorkerQueueName = (typeof WORKER_QUEUE_NAMES)[number];

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
  /**
   * Which queues this process consumes (comma list of `generation`, `training`): a deployment runs
   * training in a process of its own (`training`) so it never slows generation (`generation`).
   */
  WORKER_QUEUES: z
    .string()
    .default('generation,training')
    .transform((v) => [...new Set(v.split(',').map((q) => q.trim()).filter(Boolean))])
    .pipe(z.array(z.enum(WORKER_QUEUE_NAMES), { message: 'expected a comma list of generation, training' }).min(1, 'expected at least one queue')),
  /**
   * BullMQ lock of a training job: long CPU-bound steps may delay its renewal, so it is longer
   * than JOB_LOCK_MS; a killed training worker's job is resumed after about this long.
   */
  TRAINING_JOB_LOCK_MS: envInt(1000, 3_600_000, 120_000),
  /** Training runs' work folders (checkpoints survive a restart): `<dir>/<runId>/<stage>/<community>`. */
  TRAINING_WORK_DIR: z.string().min(1).default('data/training'),
  /** Where trained model versions are written; versions' paths are stored relative to it. */
  VERSIONS_DIR: z.string().min(1).default('data/model-versions'),
  /** A run with fewer preference pairs (ties included) than this is skipped. */
  MIN_TRAINING_PAIRS: envInt(1, 100_000_000, 200),
  /** A community gets models of its own from this many pairs on (the global model always trains). */
  MIN_COMMUNITY_PAIRS: envInt(1, 100_000_000, 2000),
  /** A new version is promoted only if it beats the active one on held-out pairs by this much (accuracy). */
  PROMOTION_MARGIN: z.coerce.number().min(0).max(1).default(0.01),
  /** Reward stage: share of dialogues held out to evaluate a new reward version. */
  REWARD_HELDOUT_SHARE: z.coerce.number().gt(0).lt(1).default(0.2),
  /** Reward stage: a version is promoted only when judged on at least this many held-out pairs. */
  REWARD_MIN_HELDOUT_PAIRS: envInt(1, 100_000_000, 50),
  /**
   * Reward stage: steps of the image tower's conv-LoRA adaptation after the head (0 = head only,
   * the default: on simulated votes it did not beat the head alone; docs/learning-loop.md).
   */
  REWARD_TOWER_STEPS: envInt(0, 1_000_000, 0),
  /** Reward stage: mismatched negatives per labelled round (an image made for another prompt loses). */
  REWARD_MISMATCH_PER_ROUND: envInt(0, 100, 1),
  /**
   * Reward stage: loss weight of a pair whose loser its own rater thumbed down (every up × down
   * pair, a pick over a thumbed-down candidate); other pairs weigh 1 (docs/learning-loop.md).
   */
  REWARD_THUMBED_DOWN_WEIGHT: z.coerce.number().min(0).max(10).default(0.1),
});
export type GpuServerConfig = z.infer<typeof GpuServerEnvSchema>;

export const gpuServerEnv = cachedEnv('gpu-server', GpuServerEnvSchema);
