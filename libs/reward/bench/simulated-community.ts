import { buildPreferencePairs, type CuratedData, type CuratedLabel, type CuratedRound } from '@vca/core';
import { SceneOracle, SceneRenderer, sampleTaste, simulateRound, toChwFloat, type CommunityTaste, type SimulatedRound } from '@vca/world';
import { FeatureTable, type DualEncoderFeatures, type IndexedPair } from '../src';

/**
 * A simulated community's labelled rounds as the reward stage sees them (votes → the same
 * curated-data shape and `buildPreferencePairs` the product uses), plus held-out pairs labelled
 * by the hidden, noise-free utility. Shared by `bench:reward` and the accuracy test.
 */
export interface SimulatedCommunity {
  taste: CommunityTaste;
  table: FeatureTable;
  train: IndexedPair[];
  /** Held-out dialogues: every candidate pair that both match the prompt and differ in taste. */
  heldOutTaste: IndexedPair[];
  /** Held-out dialogues: every candidate pair with different noise-free utility. */
  heldOutAll: IndexedPair[];
  encodeSeconds: number;
}

export interface SimulateOptions {
  seed: number;
  dialogues: number;
  heldOutDialogues: number;
  raters?: number;
  candidates?: number;
}

export async function simulateCommunity(encoder: DualEncoderFeatures, o: SimulateOptions): Promise<SimulatedCommunity> {
  const taste = sampleTaste(o.seed);
  const renderer = new SceneRenderer({ size: encoder.imageSize });
  const oracle = new SceneOracle();
  const rounds: SimulatedRound[] = [];
  for (let d = 0; d < o.dialogues + o.heldOutDialogues; d++) {
    rounds.push(simulateRound(o.seed, d, taste, renderer, oracle, { raters: o.raters ?? 3, candidates: o.candidates ?? 4 }));
  }
  const started = performance.now();
  const pixels = rounds.flatMap((r) => r.candidates.map((c) => toChwFloat(c.image)));
  const images = await encoder.encodePixels(pixels);
  const prompts = await encoder.encodeTexts(rounds.map((r) => r.prompt));
  const encodeSeconds = (performance.now() - started) / 1000;
  const table = FeatureTable.from(images, prompts);
  const imageRow = (round: number, candidate: number) => round * (o.candidates ?? 4) + candidate;

  // Training pairs: the votes of the first `dialogues` rounds through the product's pair rules.
  const curatedRounds = new Map<string, CuratedRound>();
  const labels: CuratedLabel[] = [];
  const at = new Date(0);
  rounds.slice(0, o.dialogues).forEach((r, ri) => {
    const roundId = `r${ri}`;
    curatedRounds.set(roundId, {
      roundId,
      dialogueId: `d${r.dialogue}`,
      roundIndex: 1,
      caption: r.prompt,
      images: r.candidates.map((_, ci) => ({ imageId: `${ri}:${ci}`, roundId, candidateIndex: ci, storageKey: `${'0'.repeat(64)}.png` })),
    } as CuratedRound);
    r.votes.forEach((v, rater) => {
      const label = (imageId: string, ci: number, signal: CuratedLabel['signal']): CuratedLabel => ({
        eventId: `${ri}:${rater}:${signal}:${ci}`,
        raterId: `u${rater}`,
        imageId,
        roundId,
        dialogueId: `d${r.dialogue}`,
        roundIndex: 1,
        candidateIndex: ci,
        signal,
        source: 'button',
        moderationStatus: 'pending',
        createdAt: at,
      });
      labels.push(label(`${ri}:${v.pick}`, v.pick, 'pick'));
      v.votes.forEach((vote, ci) => labels.push(label(`${ri}:${ci}`, ci, vote)));
    });
  });
  const data: CuratedData = { labels, rounds: curatedRounds };
  const train: IndexedPair[] = buildPreferencePairs(data, '.').map((p) => {
    const [ri, c0] = p.image_0_uid.split(':').map(Number) as [number, number];
    const c1 = Number(p.image_1_uid.split(':')[1]);
    const zeroWins = p.label_0 >= p.label_1;
    return { prompt: ri, winner: imageRow(ri, zeroWins ? c0 : c1), loser: imageRow(ri, zeroWins ? c1 : c0), label: p.label_0 === 0.5 ? 0.5 : 1 };
  });

  const heldOutTaste: IndexedPair[] = [];
  const heldOutAll: IndexedPair[] = [];
  for (let ri = o.dialogues; ri < rounds.length; ri++) {
    const c = rounds[ri]!.candidates;
    for (let i = 0; i < c.length; i++) {
      for (let j = i + 1; j < c.length; j++) {
        const [a, b] = c[i]!.utility >= c[j]!.utility ? [i, j] : [j, i];
        if (c[a]!.utility === c[b]!.utility) continue;
        const pair = { prompt: ri, winner: imageRow(ri, a), loser: imageRow(ri, b), label: 1 };
        heldOutAll.push(pair);
        if (c[a]!.verdict.match && c[b]!.verdict.match && Math.abs(c[a]!.taste - c[b]!.taste) >= 0.1) heldOutTaste.push(pair);
      }
    }
  }
  return { taste, table, train, heldOutTaste, heldOutAll, encodeSeconds };
}
