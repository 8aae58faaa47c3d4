import { isAbsolute, resolve } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModelVersionService } from '@vca/core';
import type { RewardScorer, RewardScores } from '@vca/reward';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';
import { MetricsService } from '../metrics/metrics.service';
import { REWARD_SCORER_LOADER, type RewardEncoderCheck, type RewardScorerLoader } from './reward-scorer.port';

/** Scorers kept loaded (one per reward version in use, plus the cosine baseline). */
const MAX_CACHED_SCORERS = 8;
/** How long an evicted scorer stays open, so a round still using it can finish. */
const DISPOSE_AFTER_MS = 60_000;
const BASELINE = 'cosine-baseline';
/** A version that failed to load is tried again after this long (files restored by an operator). */
const RETRY_FAILED_AFTER_MS = 5 * 60_000;

export interface RoundScores {
  /** The reward version that scored, null for the plain cosine baseline. */
  versionId: string | null;
  /** One per PNG, in input order. */
  scores: RewardScores[];
  seconds: number;
}

/**
 * Scores a round's candidates with the active reward model of the round's community (else the
 * global one; none registered → the dual encoder's plain cosine, version null). One scorer is
 * loaded per version and kept. A model directory without a CLIP-style encoder pair has no
 * scorer at all: rounds are unscored and the log says once what to add.
 */
@Injectable()
export class CandidateScorer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CandidateScorer.name);
  private encoders: Promise<RewardEncoderCheck> | null = null;
  private readonly scorers = new Map<string, Promise<RewardScorer>>();
  /** Version id → when it failed to load; scored with the baseline until the retry time. */
  private readonly failedVersions = new Map<string, number>();
  private readonly pendingDisposals = new Map<NodeJS.Timeout, Promise<RewardScorer>>();

  constructor(
    @Inject(GPU_SERVER_CONFIG) private readonly config: GpuServerConfig,
    @Inject(REWARD_SCORER_LOADER) private readonly loader: RewardScorerLoader,
    private readonly versions: ModelVersionService,
    private readonly metrics: MetricsService,
  ) {}

  /** The first round should not wait for the scorer's sessions: load the baseline at boot. */
  onApplicationBootstrap(): void {
    if (this.config.WORKERS_ENABLED) this.warmUp();
  }

  /** Whether this model can be scored at all (checked once; the reason logged once). */
  async available(): Promise<boolean> {
    this.encoders ??= Promise.resolve()
      .then(() => this.loader.findEncoders(this.config.MODEL_DIR))
      .catch((err: Error): RewardEncoderCheck => ({ ok: false, reason: err.message }))
      .then((check) => {
        if (check.ok) this.logger.log(`reward scoring on: the dual encoder of ${this.config.MODEL_DIR} scores every round`);
        else this.logger.warn(`rounds are not scored: ${check.reason}`);
        return check;
      });
    return (await this.encoders).ok;
  }

  /** The scorer for a community's rounds, or null when this model cannot be scored. */
  async scorerFor(communityId: string | null): Promise<RewardScorer | null> {
    if (!(await this.available())) return null;
    const version = await this.activeVersion(communityId);
    if (version && !this.recentlyFailed(version.id)) {
      try {
        return await this.cached(version.id, () => this.loadVersion(version));
      } catch (err) {
        // A version whose files are missing or broken: score with the baseline, say so once (per retry).
        this.failedVersions.set(version.id, Date.now());
        this.logger.error(`reward version ${version.id} (${version.path}) failed to load, scoring with the plain cosine instead: ${(err as Error).message}`);
      }
    }
    try {
      return await this.cached(BASELINE, () =>
        this.loader.load({ modelDir: this.config.MODEL_DIR, versionDir: null, versionId: null, threads: this.threads() }),
      );
    } catch (err) {
      this.logger.error(`the cosine baseline scorer failed to load: ${(err as Error).message}`);
      return null;
    }
  }

  /**
   * Scores PNGs for a prompt; null when unscored (no encoder pair, or scoring failed — a round is
   * never failed for its scores). Observes `vca_reward_scoring_seconds`.
   */
  async score(communityId: string | null, prompt: string, pngs: readonly Uint8Array[]): Promise<RoundScores | null> {
    const started = performance.now();
    try {
      const scorer = await this.scorerFor(communityId);
      if (!scorer) return null;
      const scores = await scorer.score(prompt, pngs);
      if (scores.length !== pngs.length) throw new Error(`got ${scores.length} scores for ${pngs.length} images`);
      const seconds = (performance.now() - started) / 1000;
      this.metrics.rewardScoringSeconds.observe(seconds);
      return { versionId: scorer.versionId, scores, seconds };
    } catch (err) {
      this.logger.warn(`scoring failed, round left unscored: ${(err as Error).message}`);
      return null;
    }
  }

  /** Load the scorers rounds will most likely need first (the baseline), without waiting. */
  warmUp(): void {
    void this.scorerFor(null).catch(() => undefined);
  }

  private recentlyFailed(versionId: string): boolean {
    const at = this.failedVersions.get(versionId);
    if (at === undefined) return false;
    if (Date.now() - at < RETRY_FAILED_AFTER_MS) return true;
    this.failedVersions.delete(versionId);
    return false;
  }

  private async activeVersion(communityId: string | null): Promise<{ id: string; path: string } | null> {
    return (await this.versions.active('reward', communityId)) ?? null;
  }

  private loadVersion(version: { id: string; path: string }): Promise<RewardScorer> {
    const dir = isAbsolute(version.path) ? version.path : resolve(this.config.VERSIONS_DIR, version.path);
    return this.loader.load({ modelDir: this.config.MODEL_DIR, versionDir: dir, versionId: version.id, threads: this.threads() });
  }

  private threads(): number | undefined {
    return this.config.ORT_INTRA_OP_THREADS > 0 ? this.config.ORT_INTRA_OP_THREADS : undefined;
  }

  private cached(key: string, load: () => Promise<RewardScorer>): Promise<RewardScorer> {
    const hit = this.scorers.get(key);
    if (hit) {
      // Most recently used last: eviction takes the oldest.
      this.scorers.delete(key);
      this.scorers.set(key, hit);
      return hit;
    }
    const loading = load();
    this.scorers.set(key, loading);
    loading.catch(() => this.scorers.get(key) === loading && this.scorers.delete(key));
    while (this.scorers.size > MAX_CACHED_SCORERS) {
      const [oldestKey, oldest] = this.scorers.entries().next().value as [string, Promise<RewardScorer>];
      this.scorers.delete(oldestKey);
      const timer = setTimeout(() => {
        this.pendingDisposals.delete(timer);
        void oldest.then((s) => s.dispose()).catch(() => undefined);
      }, DISPOSE_AFTER_MS);
      timer.unref();
      this.pendingDisposals.set(timer, oldest);
    }
    return loading;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.pendingDisposals.keys()) clearTimeout(timer);
    const all = [...this.scorers.values(), ...this.pendingDisposals.values()];
    this.pendingDisposals.clear();
    this.scorers.clear();
    await Promise.all(all.map((p) => p.then((s) => s.dispose()).catch(() => undefined)));
  }
}
