import { z } from 'zod';

export const scheduleConfigSchema = z.object({
  warmupSteps: z.number().int().min(0).default(0),
  /** Step at which the cosine reaches `minLr`; without it the rate stays at `lr` after warm-up. */
  totalSteps: z.number().int().positive().optional(),
  minLr: z.number().min(0).default(0),
});
export type ScheduleConfig = z.input<typeof scheduleConfigSchema>;

/**
 * Linear warm-up then cosine decay (Loshchilov & Hutter 2017, SGDR eq. 5, one cycle):
 *   η(t) = η·t/W for t < W,  η(t) = η_min + ½(η − η_min)(1 + cos(π·(t−W)/(T−W))) afterwards.
 * `t` counts completed steps (0 for the first update).
 */
export function learningRate(lr: number, t: number, config: ScheduleConfig = {}): number {
  const { warmupSteps: w, totalSteps: total, minLr } = scheduleConfigSchema.parse(config);
  if (w > 0 && t < w) return (lr * (t + 1)) / w;
  if (!total) return lr;
  const progress = Math.min(1, (t - w) / Math.max(1, total - w));
  return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
