import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of this process. A registry per app instance rather than prom-client's
 * global one, so two apps in one process (tests) do not collide on metric names.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly jobs = new Counter({
    name: 'vca_jobs_total',
    help: 'Job attempts run by this process, by queue and outcome (completed, failed_attempt).',
    labelNames: ['queue', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly jobSeconds = new Histogram({
    name: 'vca_job_duration_seconds',
    help: 'Wall time of one job attempt, by queue.',
    labelNames: ['queue'] as const,
    // Rounds take from well under a second (fixture models) to minutes (large models on CPU).
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  readonly images = new Counter({
    name: 'vca_generated_images_total',
    help: 'Images generated and stored.',
    registers: [this.registry],
  });

  readonly denoisingSteps = new Counter({
    name: 'vca_denoising_steps_total',
    help: 'UNet denoising steps run (all candidates).',
    registers: [this.registry],
  });

  readonly rewardScoringSeconds = new Histogram({
    name: 'vca_reward_scoring_seconds',
    help: "Wall time of scoring one round's candidates with the reward model (kept under 5% of a round).",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly modelLoaded = new Gauge({
    name: 'vca_model_loaded',
    help: '1 when the diffusion model is loaded and ready.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'vca_gpu_server_' });
  }
}
