import type { CuratedData, CuratedLabel, PreferencePair } from './curation.types';
import { imagePathFor } from './image-path.util';

/**
 * Preference pairs from curated labels, per rater and round (docs/vca-method.md §3):
 * - a pick of A gives A ≻ B for every other candidate B of the round;
 * - thumbs give every up ≻ every down (same rater, same round);
 * - explicit ties give 0.5/0.5 between every two tied images.
 * Each unordered image pair is emitted at most once per rater, the first rule above winning.
 * image_0 is always the lower candidate index, so the label side varies.
 * Training uses these same pairs (split and extended by pair-sets.util.ts); ties are trained as
 * soft labels toward 0.5, not dropped.
 */
export function buildPreferencePairs(data: CuratedData, imageDir: string): PreferencePair[] {
  const byRaterRound = new Map<string, CuratedLabel[]>();
  for (const label of data.labels) {
    const key = `${label.raterId}\u0000${label.roundId}`;
    const list = byRaterRound.get(key);
    if (list) list.push(label);
    else byRaterRound.set(key, [label]);
  }

  const pairs: PreferencePair[] = [];
  const keys = [...byRaterRound.keys()].sort();
  for (const key of keys) {
    const labels = byRaterRound.get(key)!;
    const { raterId, roundId } = labels[0]!;
    const round = data.rounds.get(roundId);
    if (!round) continue;
    const images = [...round.images].sort((a, b) => a.candidateIndex - b.candidateIndex);
    const imageById = new Map(images.map((i) => [i.imageId, i]));
    const seen = new Set<string>();
    const emit = (winnerId: string, loserId: string, origin: PreferencePair['origin']): void => {
      const a = imageById.get(winnerId);
      const b = imageById.get(loserId);
      if (!a || !b || a.imageId === b.imageId) return;
      const [first, second] = a.candidateIndex <= b.candidateIndex ? [a, b] : [b, a];
      const pairKey = `${first.imageId}|${second.imageId}`;
      if (seen.has(pairKey)) return;
      seen.add(pairKey);
      const tie = origin === 'tie';
      pairs.push({
        caption: round.caption,
        image_0_uid: first.imageId,
        image_1_uid: second.imageId,
        image_0_path: imagePathFor(imageDir, first.storageKey),
        image_1_path: imagePathFor(imageDir, second.storageKey),
        label_0: tie ? 0.5 : first === a ? 1 : 0,
        label_1: tie ? 0.5 : first === a ? 0 : 1,
        best_image_uid: tie ? null : a.imageId,
        user_id: raterId,
        dialogue_id: round.dialogueId,
        round_id: round.roundId,
        round_index: round.roundIndex,
        origin,
      });
    };
    const withSignal = (s: CuratedLabel['signal']) =>
      [...new Set(labels.filter((l) => l.signal === s).map((l) => l.imageId))].sort(
        (x, y) => (imageById.get(x)?.candidateIndex ?? 0) - (imageById.get(y)?.candidateIndex ?? 0),
      );

    for (const picked of withSignal('pick')) for (const other of images) emit(picked, other.imageId, 'pick');
    const downs = withSignal('down');
    for (const up of withSignal('up')) for (const down of downs) emit(up, down, 'up_down');
    const ties = withSignal('tie');
    for (let i = 0; i < ties.length; i++) for (let j = i + 1; j < ties.length; j++) emit(ties[i]!, ties[j]!, 'tie');
  }
  return pairs;
}

/** JSON Lines: one object per line, newline-terminated. */
export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
