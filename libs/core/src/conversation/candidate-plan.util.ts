import { createHash } from 'node:crypto';
import type { CandidatePlan } from '../entities/round.entity';

/**
 * Seeds and img2img strengths for the N candidates of a round.
 *
 * Strengths are spread evenly over [min, max] (N = 1 takes the midpoint): the VCA paper
 * diversifies the denoising paths of one round by noising the kept image to different steps t1, t2
 * (docs/vca-method.md §1), and strength is that noise step as a fraction of the schedule.
 * Text-to-image rounds run the whole schedule, so their strength is 1.
 *
 * Seeds are derived from the round id, so re-running a round reproduces its candidates.
 */
export function planCandidates(
  roundId: string,
  count: number,
  img2img: boolean,
  strengthMin: number,
  strengthMax: number,
): CandidatePlan[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`count must be a positive integer, got ${count}`);
  if (strengthMin > strengthMax) throw new Error(`strengthMin (${strengthMin}) must not exceed strengthMax (${strengthMax})`);
  return Array.from({ length: count }, (_, i) => {
    const strength = !img2img
      ? 1
      : count === 1
        ? (strengthMin + strengthMax) / 2
        : strengthMin + ((strengthMax - strengthMin) * i) / (count - 1);
    return { seed: seedFor(roundId, i), strength: Math.round(strength * 1e4) / 1e4 };
  });
}

/** uint32 seed: the first 4 bytes of sha256(roundId:index). */
export function seedFor(roundId: string, candidateIndex: number): number {
  return createHash('sha256').update(`${roundId}:${candidateIndex}`).digest().readUInt32BE(0);
}
