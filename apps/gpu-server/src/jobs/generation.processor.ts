import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { DiskImageStorage, GenerationJobSchema, ImageNotFoundError, type GeneratedImage, type GenerationJob, type GenerationResult } from '@vca/shared';
import { ModelVersionService } from '@vca/core';
import { GenerateJob, type JobContext } from '@vca/queue';
import { MetricsService } from '../metrics/metrics.service';
import { CandidateScorer, type RoundScores } from '../model/candidate-scorer.service';
import type { GeneratedPng, LoraRequest } from '../model/image-generator.port';
import { ModelService } from '../model/model.service';
import { BaseModelVersion } from '../training/base-model.registrar';
import { JobProcessorFor } from './job-processor.decorator';
import type { JobProcessor } from './job-processor.interface';
import { ROUND_RESULTS, type RoundResultsPort } from './round-results.port';

/**
 * One round: every candidate through the diffusion runtime (img2img from the kept image after
 * round 1) with the requested run-time LoRAs, scored by the community's reward model, PNGs stored
 * content-addressed, image rows written through the core.
 *
 * Scored rounds are ranked: candidate index 0 is the best-scored image (each image keeps its own
 * seed and strength, so it stays reproducible). With `keep` (best-of-K) only the `keep` best are
 * stored; without a scorer the first `keep` candidates are generated and nothing more.
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
    private readonly scorer: CandidateScorer,
    @Optional() private readonly baseVersion?: BaseModelVersion,
  ) {}

  async handle(job: GenerationJob, ctx: JobContext): Promise<GenerationResult> {
    const started = performance.now();
    const generator = this.model.get();
    const loras = await this.resolveLoras(job);
    await this.rounds.markRoundRunning(job.roundId);
    const initImagePng = job.initImageKey ? await this.readInitImage(job.initImageKey) : null;
    const keep = Math.min(job.keep ?? job.candidates.length, job.candidates.length);
    // Best-of-K needs scores: without a scorer, generating the extra candidates would be waste.
    const scorable = await this.scorer.available();
    const candidates = scorable ? job.candidates : job.candidates.slice(0, keep);
    let lastReported = -1;
    const pngs = await generator.generate(
      {
        prompt: job.prompt,
        negativePrompt: job.negativePrompt,
        candidates,
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
    const scored = scorable ? await this.scorer.score(job.communityId ?? null, job.prompt, pngs.map((p) => p.png)) : null;
    const images: GeneratedImage[] = [];
    for (const [rank, { image, scores }] of rankCandidates(pngs, scored).slice(0, keep).entries()) {
      const stored = await this.storage.put(image.png);
      this.metrics.images.inc();
      images.push({
        candidateIndex: rank,
        seed: image.seed,
        strength: image.strength,
        storageKey: stored.key,
        contentHash: stored.contentHash,
        width: image.width,
        height: image.height,
        ...(scores ? { scores: { reward: scores.reward, cosine: scores.cosine } } : {}),
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
      rewardVersionId: scored ? scored.versionId : null,
      modelVersionId: await this.baseModelVersionId(),
      scoringSeconds: scored ? Math.round(scored.seconds * 1e4) / 1e4 : 0,
    };
    await this.rounds.recordGenerationResult(result);
    const scoring = scored
      ? `; scored by ${scored.versionId ?? 'the cosine baseline'} in ${Math.round(scored.seconds * 1000)} ms (reward_scoring_seconds ${scored.seconds.toFixed(3)}, ${((100 * scored.seconds * 1000) / Math.max(result.elapsedMs, 1)).toFixed(1)}% of the round)`
      : '; unscored';
    this.logger.log(`round ${job.roundId}: ${images.length} of ${pngs.length} images in ${result.elapsedMs} ms${scoring} (attempt ${ctx.attempt})`);
    return result;
  }

  /** The registered base version of the loaded model (settled at boot; null when not registered). */
  private async baseModelVersionId(): Promise<string | null> {
    if (!this.baseVersion) return null;
    await this.baseVersion.ready;
    return this.baseVersion.id;
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

/**
 * Candidates best first: by reward (the generation order breaks ties), or in generation order
 * when the round is unscored.
 */
export function rankCandidates(pngs: readonly GeneratedPng[], scored: RoundScores | null): Array<{ image: GeneratedPng; scores: RoundScores['scores'][number] | null }> {
  const entries = pngs.map((image, i) => ({ image, scores: scored?.scores[i] ?? null, order: i }));
  if (scored) entries.sort((a, b) => b.scores!.reward - a.scores!.reward || a.order - b.order);
  return entries.map(({ image, scores }) => ({ image, scores }));
}
