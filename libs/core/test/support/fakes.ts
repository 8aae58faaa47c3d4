import { createHash } from 'node:crypto';
import type { GenerationJob, GenerationResult } from '@vca/shared';
import { generationJobId, type GenerationQueuePort } from '@vca/core';

/** Records enqueued jobs (idempotent per job id, like BullMQ); can be switched to fail. */
export class RecordingQueue implements GenerationQueuePort {
  readonly jobs = new Map<string, GenerationJob>();
  readonly calls: string[] = [];
  failing = false;

  async enqueue(job: GenerationJob): Promise<{ jobId: string }> {
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    const jobId = generationJobId(job.roundId);
    this.calls.push(jobId);
    if (!this.jobs.has(jobId)) this.jobs.set(jobId, job);
    return { jobId };
  }

  last(): GenerationJob {
    return [...this.jobs.values()].pop()!;
  }
}

/** What a worker would report for `job`: one content-addressed PNG key per candidate. */
export function fakeResult(job: GenerationJob, modelVersion = 'vca-tiny-v1'): GenerationResult {
  return {
    roundId: job.roundId,
    modelVersion,
    loraVersions: [],
    steps: job.steps,
    guidanceScale: job.guidanceScale,
    elapsedMs: 12,
    images: job.candidates.map((c, candidateIndex) => {
      const hash = createHash('sha256').update(`${job.roundId}:${candidateIndex}`).digest('hex');
      return { candidateIndex, seed: c.seed, strength: c.strength, storageKey: `${hash}.png`, contentHash: hash, width: 64, height: 64 };
    }),
  };
}
