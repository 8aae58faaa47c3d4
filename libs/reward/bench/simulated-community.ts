import { buildPreferencePairs, pairTrainingWeights, type CuratedData, type CuratedLabel, type CuratedRound } from '@vca/core';
import { SceneOracle, SceneRenderer, sampleTaste, simulateRound, toChwFloat, type CommunityTaste, type RasterImage, type SimulatedRound } from '@vca/world';
import type { ImageSource, IndexedPair } from '../src';

/**
 * A simulated community's labelled rounds as the reward stage sees them: votes become the same
 * curated-data shape and go through the product's `buildPreferencePairs` and
 * `pairTrainingWeights`; held-out dialogues
 * give pairs labelled by the hidden, noise-free utility. Shared by `bench:reward` and the
 * accuracy test.
 */
export interface SimulatedCommunity {
  taste: CommunityTaste;
  prompts: string[];
  images: ImageSource;
  train: IndexedPair[];
  /** Held-out dialogues: every candidate pair that both match the prompt and differ in taste (≥ 0.1). */
  heldOutTaste: IndexedPair[];
  /** |Δ taste| of each held-out taste pair (same order). */
  heldOutTasteDelta: number[];
  /**
   * Share of held-out taste pairs whose order by the taste of the *rendered* styles agrees with
   * the order by the oracle's reading: what a model of the rendered styles alone would score.
   */
  renderedAgreement: number;
  /** The held-out taste pairs whose order the oracle's reading and the rendered styles agree on. */
  heldOutTasteAgreed: IndexedPair[];
  /** Held-out dialogues: every candidate pair with different noise-free utility. */
  heldOutAll: IndexedPair[];
  rounds: number;
  simulateSeconds: number;
}

export interface SimulateOptions {
  /** Taste and world seed. */
  seed: number;
  dialogues: number;
  heldOutDialogues: number;
  raters?: number;
  candidates?: number;
  imageSize?: number;
  /** Share of candidates with one named attribute wrong (the model's mistakes). */
  errorRate?: number;
  /** Loss weight of any pair whose loser the same rater thumbed down (as the product's pairTrainingWeights). */
  thumbedDownLoserWeight?: number;
}

export function rasterSource(images: readonly RasterImage[]): ImageSource {
  return { count: images.length, pixels: (i) => toChwFloat(images[i]!) };
}

export function simulateCommunity(o: SimulateOptions): SimulatedCommunity {
  const started = performance.now();
  const taste = sampleTaste(o.seed);
  const renderer = new SceneRenderer({ size: o.imageSize ?? 64 });
  const oracle = new SceneOracle();
  const K = o.candidates ?? 4;
  const rounds: SimulatedRound[] = [];
  for (let d = 0; d < o.dialogues + o.heldOutDialogues; d++) rounds.push(simulateRound(o.seed, d, taste, renderer, oracle, { raters: o.raters ?? 3, candidates: K, errorRate: o.errorRate }));
  const row = (round: number, candidate: number) => round * K + candidate;

  const curatedRounds = new Map<string, CuratedRound>();
  const labels: CuratedLabel[] = [];
  const at = new Date(0);
  const key = `${'0'.repeat(64)}.png`;
  rounds.slice(0, o.dialogues).forEach((r, ri) => {
    const roundId = `r${ri}`;
    const dialogueId = `d${r.dialogue}`;
    curatedRounds.set(roundId, {
      roundId,
      dialogueId,
      roundIndex: 1,
      caption: r.prompt,
      images: r.candidates.map((_, ci) => ({ imageId: `${ri}:${ci}`, roundId, candidateIndex: ci, storageKey: key })),
    } as CuratedRound);
    r.votes.forEach((v, rater) => {
      const label = (ci: number, signal: CuratedLabel['signal']): CuratedLabel => ({
        eventId: `${ri}:${rater}:${signal}:${ci}`,
        raterId: `u${rater}`,
        imageId: `${ri}:${ci}`,
        roundId,
        dialogueId,
        roundIndex: 1,
        candidateIndex: ci,
        signal,
        source: 'button',
        moderationStatus: 'pending',
        createdAt: at,
      });
      labels.push(label(v.pick, 'pick'));
      v.votes.forEach((vote, ci) => labels.push(label(ci, vote)));
    });
  });
  const data: CuratedData = { labels, rounds: curatedRounds };
  const pairs = buildPreferencePairs(data, '.');
  const weights = pairTrainingWeights(data, pairs, { thumbedDownLoserWeight: o.thumbedDownLoserWeight ?? 1 });
  const train: IndexedPair[] = pairs.map((p, i) => {
    const ri = Number(p.image_0_uid.split(':')[0]);
    const c0 = Number(p.image_0_uid.split(':')[1]);
    const c1 = Number(p.image_1_uid.split(':')[1]);
    const zeroWins = p.label_0 >= p.label_1;
    const loserCandidate = zeroWins ? c1 : c0;
    return { prompt: ri, winner: row(ri, zeroWins ? c0 : c1), loser: row(ri, loserCandidate), label: p.label_0 === 0.5 ? 0.5 : 1, weight: weights[i] };
  });

  const heldOutTaste: IndexedPair[] = [];
  const heldOutTasteDelta: number[] = [];
  let agree = 0;
  const heldOutTasteAgreed: IndexedPair[] = [];
  const heldOutAll: IndexedPair[] = [];
  for (let ri = o.dialogues; ri < rounds.length; ri++) {
    const c = rounds[ri]!.candidates;
    for (let i = 0; i < c.length; i++) {
      for (let j = i + 1; j < c.length; j++) {
        if (c[i]!.utility === c[j]!.utility) continue;
        const [a, b] = c[i]!.utility > c[j]!.utility ? [i, j] : [j, i];
        const pair = { prompt: ri, winner: row(ri, a), loser: row(ri, b), label: 1 };
        heldOutAll.push(pair);
        if (c[a]!.verdict.match && c[b]!.verdict.match && Math.abs(c[a]!.taste - c[b]!.taste) >= 0.1) {
          heldOutTaste.push(pair);
          heldOutTasteDelta.push(Math.abs(c[a]!.taste - c[b]!.taste));
          if (c[a]!.renderedTaste > c[b]!.renderedTaste) {
            agree++;
            heldOutTasteAgreed.push(pair);
          }
        }
      }
    }
  }
  return {
    taste,
    prompts: rounds.map((r) => r.prompt),
    images: rasterSource(rounds.flatMap((r) => r.candidates.map((c) => c.image))),
    train,
    heldOutTaste,
    heldOutTasteDelta,
    renderedAgreement: agree / Math.max(heldOutTaste.length, 1),
    heldOutTasteAgreed,
    heldOutAll,
    rounds: rounds.length,
    simulateSeconds: (performance.now() - started) / 1000,
  };
}
