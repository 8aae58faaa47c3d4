/**
 * TEST DOUBLE of the GPU server's generation worker — used only until/unless the real worker
 * (apps/gpu-server + the diffusion fixture model) is wired into these tests. It consumes the real
 * BullMQ generation queue through @vca/queue's worker factory, reports real progress events,
 * writes real PNGs to the content-addressed store and records the image rows through the core,
 * like the GPU server does; only the pixels are not produced by a diffusion model (each candidate
 * is a flat colour derived from its seed, so candidates are distinct images).
 */
import { ConversationService, RuleBasedPromptRefiner } from '@vca/core';
import { GenerateJob, JobRegistry, createJobWorker } from '@vca/queue';
import { DiskImageStorage, QueueName, type GenerationJob, type GenerationResult } from '@vca/shared';
import type { Worker } from 'bullmq';
import { encode } from 'fast-png';
import type { DataSource } from 'typeorm';

export interface GpuWorkerDoubleOptions {
  redisUrl: string;
  prefix: string;
  imageDir: string;
  dataSource: DataSource;
  /** Progress reports per job (default: the job's steps, capped at 4 to keep tests fast). */
  progressSteps?: number;
  /** Delay between progress reports, ms (simulated generation time = steps × this). */
  stepDelayMs?: number;
  /** Throw instead of generating when this returns a message (a job that fails). */
  failWith?: (job: GenerationJob) => string | null;
  concurrency?: number;
}

export interface GpuWorkerDouble {
  worker: Worker;
  jobs: GenerationJob[];
  close(): Promise<void>;
}

const SIZE = 16;

function candidatePng(seed: number): Uint8Array {
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < SIZE * SIZE; i++) {
    data[i * 3] = seed & 0xff;
    data[i * 3 + 1] = (seed >>> 8) & 0xff;
    data[i * 3 + 2] = (seed >>> 16) & 0xff;
  }
  return encode({ width: SIZE, height: SIZE, data, channels: 3, depth: 8 });
}

export function startGpuWorkerDouble(opts: GpuWorkerDoubleOptions): GpuWorkerDouble {
  const storage = new DiskImageStorage(opts.imageDir);
  // The double records results through the core like the GPU server; it never enqueues.
  const conversation = new ConversationService(
    opts.dataSource,
    { enqueue: () => Promise.reject(new Error('the GPU worker double does not enqueue')) },
    new RuleBasedPromptRefiner(),
  );
  const jobs: GenerationJob[] = [];
  const registry = new JobRegistry([GenerateJob]).register(GenerateJob, async (job, ctx) => {
    jobs.push(job);
    const total = opts.progressSteps ?? Math.min(job.steps, 4);
    for (let step = 1; step <= total; step++) {
      if (opts.stepDelayMs) await new Promise((r) => setTimeout(r, opts.stepDelayMs));
      await ctx.reportProgress({ step, totalSteps: total });
    }
    // Fails after its progress, like a worker that runs out of memory while decoding.
    const failure = opts.failWith?.(job);
    if (failure) throw new Error(failure);
    const images = [];
    for (const [candidateIndex, c] of job.candidates.entries()) {
      const stored = await storage.put(candidatePng(c.seed));
      images.push({
        candidateIndex,
        seed: c.seed,
        strength: job.initImageKey ? c.strength : 1,
        storageKey: stored.key,
        contentHash: stored.contentHash,
        width: SIZE,
        height: SIZE,
      });
    }
    const result: GenerationResult = {
      roundId: job.roundId,
      modelVersion: 'worker-double',
      loraVersions: [],
      steps: job.steps,
      guidanceScale: job.guidanceScale,
      images,
      elapsedMs: 1,
    };
    await conversation.recordGenerationResult(result);
    return result;
  });
  const worker = createJobWorker({
    redisUrl: opts.redisUrl,
    prefix: opts.prefix,
    queue: QueueName.Generation,
    registry,
    concurrency: opts.concurrency ?? 2,
  });
  worker.on('error', () => undefined);
  return { worker, jobs, close: () => worker.close() };
}
