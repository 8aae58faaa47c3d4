import type { Trainer, TrainerConfig } from '@vca/ml';

/**
 * The optimiser setup both reward trainers use (head on cached features, tower from pixels):
 * AdamW, a short linear warm-up (20 steps or a tenth of the run), cosine decay to 5 % of the
 * rate, gradient-norm clip 1, idle ORT threads sleeping at once (a training worker shares its
 * cores).
 */
export function rewardTrainerConfig(o: { lr: number; weightDecay: number; totalSteps: number; seed: number; threads: number }): TrainerConfig {
  return {
    optimizer: { lr: o.lr, weightDecay: o.weightDecay },
    schedule: { warmupSteps: Math.min(20, Math.floor(o.totalSteps / 10)), totalSteps: Math.max(o.totalSteps, 1), minLr: o.lr * 0.05 },
    clipGradNorm: 1,
    seed: o.seed,
    runtime: { threads: o.threads, spinning: false },
  };
}

/** Resumes from a run's checkpoint folder when there is a usable one; otherwise starts afresh. */
export function resumeFromCheckpoint(trainer: Trainer, checkpoint?: { dir: string }): void {
  if (!checkpoint) return;
  try {
    trainer.loadCheckpoint(checkpoint.dir);
  } catch {
    // No checkpoint yet (or one of another shape): start from the beginning.
  }
}
