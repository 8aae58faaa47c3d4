import type { TrainerConfig } from '@vca/ml';

/** A training stage's hyper-parameters. */
export interface TrainerHyper {
  lr: number;
  steps: number;
  warmupSteps: number;
  emaDecay: number;
  threads: number;
  seed: number;
  /** Data-parallel replicas (the diffusion loss is a per-example mean, see @vca/ml Trainer). */
  replicas?: number;
}

/**
 * The Trainer config of every stage: AdamW (weight decay 0.01), warm-up then cosine down to 5% of
 * the learning rate, gradient norm clipped at 1, an EMA of the weights. `replicas` only where the
 * loss is a mean over independent examples.
 */
export function stageTrainerConfig(h: TrainerHyper, replicas = 1): TrainerConfig {
  return {
    optimizer: { lr: h.lr, weightDecay: 0.01 },
    schedule: { warmupSteps: h.warmupSteps, totalSteps: h.steps, minLr: h.lr * 0.05 },
    clipGradNorm: 1,
    emaDecay: h.emaDecay,
    seed: h.seed,
    runtime: { threads: h.threads },
    replicas,
  };
}
