import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { DiskImageStorage, GenerationJobSchema, ImageNotFoundError, type GeneratedImage, type GenerationJob, type GenerationResult } from '@vca/shared';
import { ModelVersionService } from '@vca/core';
import { GenerateJob, type JobContext } from '@vca/queue';
import { MetricsService } from '../metrics/metrics.service';
import type { LoraRequest } from '../model/image-generator.port';
import { ModelService } from '../model/model.service';
import { JobProcessorFor } from './job-processor.decorator';
import type { JobProcessor } from './job-processor.interface';
import { ROUND_RESULTS, type RoundResultsPort } from './round-results.port';

/**
 * One round: every candidate through the diffusion runtime (img2img from the kept image after
 * round 1) with the requested run-time LoRAs, PNGs stored content-addressed, image rows written
 * through the core.
 *
 * Idempotent, so a retry after a crash is safe: identical seeds give identical bytes, hence the
 * same storage keys, and the core inserts image rows with ON CONFLICT DO NOTHING.
 * The result is also the job's return value: the bot gets it with the 'completed' event.
 */
@Injectable()
@JobProcessorFor(GenerateJob)
export class GenerationProcessor implements JobProcessor<typeof GenerateJob> {
  private readonly logger = new Logger(GenerationProcessor.name);

  constructor(
    private readonly model: ModelService,
    private readonly storage: DiskImageStorage,
    private readonly metrics: MetricsService,
    @Inject(ROUND_RESULTS) private readonly rounds: RoundResultsPort,
    private readonly modelVersions: ModelVersionService,
  ) {}

  async handle(job: GenerationJob, ctx: JobContext): Promise<GenerationResult> {
    const started = performance.now();
    const generator = this.model.get();
    const loras = await this.resolveLoras(job);
    await this.rounds.markRoundRunning(job.roundId);
    const initImagePng = job.initImageKey ? await this.readInitImage(job.initImageKey) : null;
    let lastReported = -1;
    const pngs = await generator.generate(
      {
        prompt: job.prompt,
        negativePrompt: job.negativePrompt,
        candidates: job.candidates,
        steps: job.steps,
        guidanceScale: job.guidanceScale,
        scheduler: job.scheduler,
        initImagePng,
        loras,
      },
      (done, total) => {
        this.metrics.denoisingSteps.inc();
        // Throttled to whole steps: each report is a Redis write and an event to the bot.
        if (done === lastReported) return;
        lastReported = done;
        void ctx.reportProgress({ step: done, totalSteps: total }).catch(() => undefined);
      },
    );
    const images: GeneratedImage[] = [];
    for (const image of pngs) {
      const stored = await this.storage.put(image.png);
      this.metrics.images.inc();
      images.push({
        candidateIndex: image.index,
        seed: image.seed,
        strength: image.strength,
        storageKey: stored.key,
        contentHash: stored.contentHash,
        width: image.width,
        height: image.height,
      });
    }
    const result: GenerationResult = {
      roundId: job.roundId,
      modelVersion: generator.info.version,
      loraVersions: loras.map((l) => l.versionId),
      steps: job.steps,
      guidanceScale: job.guidanceScale,
      images,
      elapsedMs: Math.round(performance.now() - started),
    };
    await this.rounds.recordGenerationResult(result);
    this.logger.log(`round ${job.roundId}: ${images.length} images in ${result.elapsedMs} ms (attempt ${ctx.attempt})`);
    return result;
  }

  /** Model-version ids → LoRA files; an unknown id or a base model can never succeed: no retries. */
  private async resolveLoras(job: GenerationJob): Promise<LoraRequest[]> {
    if (job.loras.length === 0) return [];
    const versions = new Map((await this.modelVersions.list()).map((v) => [v.id, v]));
    return job.loras.map(({ versionId, scale }) => {
      const version = versions.get(versionId);
      if (!version || version.kind !== 'lora') throw new UnrecoverableError(`model version ${versionId} is not a registered LoRA`);
      return { versionId, path: version.path, scale };
    });
  }

  /** A kept image that is gone (deleted by a moderator) will not come back: no retries. */
  private async readInitImage(key: string): Promise<Buffer> {
    try {
      return await this.storage.get(key);
    } catch (err) {
      if (err instanceof ImageNotFoundError) throw new UnrecoverableError(`the kept image ${key} no longer exists`);
      throw err;
    }
  }

  /** Retries exhausted (or the job stalled too often): the round fails, the thread is told. */
  async onFinalFailure(payload: unknown, error: Error, jobId: string): Promise<void> {
    const parsed = GenerationJobSchema.safeParse(payload);
    if (!parsed.success) return;
    this.logger.warn(`round ${parsed.data.roundId} failed for good (job ${jobId}): ${error.message}`);
    await this.rounds.markRoundFailed(parsed.data.roundId, error.message);
  }
}
