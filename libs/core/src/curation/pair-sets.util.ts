import { createHash } from 'node:crypto';
import type { CuratedData, CuratedImage, CuratedRound, PreferencePair } from './curation.types';
import { imagePathFor } from './image-path.util';

/**
 * Pure helpers that turn the one definition of pairs (`buildPreferencePairs`) into training and
 * evaluation sets. Nothing here reads the database; everything is deterministic given its seed.
 */

/** A number in [0, 1) from a stable hash of the parts (sha256, first 32 bits). */
export function stableUnit(...parts: ReadonlyArray<string | number>): number {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/** mulberry32: a small deterministic PRNG in [0, 1), seeded from a stable hash of the parts. */
export function seededRandom(...parts: ReadonlyArray<string | number>): () => number {
  let a = Math.floor(stableUnit(...parts) * 2 ** 32) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface DialogueSplitOptions {
  /** Share of dialogues held out, in [0, 1). */
  heldOutShare: number;
  /** Changes which dialogues are held out; the same seed always gives the same split. */
  seed?: number | string;
}

export interface DialogueSplit {
  train: PreferencePair[];
  heldOut: PreferencePair[];
  /** The held-out dialogue ids, sorted. */
  heldOutDialogues: string[];
}

/**
 * Splits pairs into train and held-out by whole dialogues: a dialogue goes to held-out when a
 * stable hash of (seed, dialogue id) is below `heldOutShare`, so no dialogue is on both sides and
 * a dialogue stays on its side as data grows (adding dialogues never moves existing ones).
 * With two or more dialogues and a positive share, neither side is left empty: the dialogue with
 * the lowest hash is held out / the one with the highest trains, whatever the share says.
 * Pair order within each side is the input order.
 */
export function splitByDialogue(pairs: readonly PreferencePair[], options: DialogueSplitOptions): DialogueSplit {
  const share = options.heldOutShare;
  if (!(share >= 0 && share < 1)) throw new RangeError(`heldOutShare must be in [0, 1), got ${share}`);
  const seed = options.seed ?? 0;
  const dialogues = [...new Set(pairs.map((p) => p.dialogue_id))];
  const hashes = new Map(dialogues.map((d) => [d, stableUnit('split', seed, d)]));
  const heldOut = new Set(dialogues.filter((d) => hashes.get(d)! < share));
  if (share > 0 && dialogues.length >= 2) {
    const byHash = [...dialogues].sort((a, b) => hashes.get(a)! - hashes.get(b)! || a.localeCompare(b));
    if (heldOut.size === 0) heldOut.add(byHash[0]!);
    if (heldOut.size === dialogues.length) heldOut.delete(byHash[byHash.length - 1]!);
  }
  return {
    train: pairs.filter((p) => !heldOut.has(p.dialogue_id)),
    heldOut: pairs.filter((p) => heldOut.has(p.dialogue_id)),
    heldOutDialogues: [...heldOut].sort(),
  };
}

export interface MismatchOptions {
  /** Extra pairs per round that has a preferred image (default 1). */
  perRound?: number;
  seed?: number | string;
  /** Image store directory, for the paths of the mismatched images. */
  imageDir: string;
}

/**
 * Mismatched negatives (origin `mismatch`): for each round of `pairs` that has a preferred image
 * (the winner of a `pick` or `up_down` pair), `perRound` pairs in which that image is preferred,
 * under this round's caption, over an image generated for another dialogue's prompt. The other
 * images come only from rounds of `data` whose dialogue also appears in `pairs` — pass the
 * training side of `splitByDialogue` and no held-out image leaks in. Winner side (image_0 or
 * image_1) and the other image are drawn by a PRNG seeded with (seed, round id): the same input
 * and seed always give the same pairs, independent of the order of rounds. `user_id` is the rater
 * whose label made the image preferred (the smallest rater id when several did).
 */
export function mismatchedNegatives(data: CuratedData, pairs: readonly PreferencePair[], options: MismatchOptions): PreferencePair[] {
  const perRound = options.perRound ?? 1;
  if (!Number.isInteger(perRound) || perRound < 0) throw new RangeError(`perRound must be a non-negative integer, got ${perRound}`);
  const seed = options.seed ?? 0;
  const dialogues = new Set(pairs.map((p) => p.dialogue_id));
  // The pool: every image of a round whose dialogue is in `pairs`, in a fixed order.
  const pool: Array<{ image: CuratedImage; round: CuratedRound }> = [];
  for (const round of [...data.rounds.values()].sort((a, b) => a.roundId.localeCompare(b.roundId))) {
    if (!dialogues.has(round.dialogueId)) continue;
    for (const image of [...round.images].sort((a, b) => a.candidateIndex - b.candidateIndex)) pool.push({ image, round });
  }
  // Winners per round: image id → (path, rater who preferred it).
  const winners = new Map<string, Map<string, { path: string; raterId: string }>>();
  for (const p of pairs) {
    if ((p.origin !== 'pick' && p.origin !== 'up_down') || p.best_image_uid === null) continue;
    const path = p.best_image_uid === p.image_0_uid ? p.image_0_path : p.image_1_path;
    let round = winners.get(p.round_id);
    if (!round) winners.set(p.round_id, (round = new Map()));
    // Order-independent: of the raters who preferred it, the smallest id.
    const seen = round.get(p.best_image_uid);
    if (!seen || p.user_id < seen.raterId) round.set(p.best_image_uid, { path, raterId: p.user_id });
  }
  const out: PreferencePair[] = [];
  for (const roundId of [...winners.keys()].sort()) {
    const round = data.rounds.get(roundId);
    if (!round) continue;
    const candidates = pool.filter((e) => e.round.dialogueId !== round.dialogueId);
    if (candidates.length === 0) continue;
    const preferred = [...winners.get(roundId)!.entries()].sort(([a], [b]) => a.localeCompare(b));
    const random = seededRandom('mismatch', seed, roundId);
    const used = new Set<string>();
    for (let k = 0; k < perRound; k++) {
      const [winnerId, winner] = preferred[k % preferred.length]!;
      // Different negatives for the same round while there are enough.
      let pick = candidates[Math.floor(random() * candidates.length)]!;
      for (let tries = 0; used.has(pick.image.imageId) && used.size < candidates.length && tries < 8; tries++) {
        pick = candidates[Math.floor(random() * candidates.length)]!;
      }
      used.add(pick.image.imageId);
      const otherPath = imagePathFor(options.imageDir, pick.image.storageKey);
      const winnerFirst = random() < 0.5;
      out.push({
        caption: round.caption,
        image_0_uid: winnerFirst ? winnerId : pick.image.imageId,
        image_1_uid: winnerFirst ? pick.image.imageId : winnerId,
        image_0_path: winnerFirst ? winner.path : otherPath,
        image_1_path: winnerFirst ? otherPath : winner.path,
        label_0: winnerFirst ? 1 : 0,
        label_1: winnerFirst ? 0 : 1,
        best_image_uid: winnerId,
        user_id: winner.raterId,
        dialogue_id: round.dialogueId,
        round_id: round.roundId,
        round_index: round.roundIndex,
        origin: 'mismatch',
      });
    }
  }
  return out;
}

/** The part of a snapshot whose rounds belong to one community (labels and rounds filtered). */
export function dataOfCommunity(data: CuratedData, communityId: string): CuratedData {
  const rounds = new Map([...data.rounds].filter(([, r]) => r.communityId === communityId));
  return { labels: data.labels.filter((l) => rounds.has(l.roundId)), rounds };
}

/** Pairs per community (ties included), from pairs and the snapshot they were built from. */
export function pairCountsByCommunity(data: CuratedData, pairs: readonly PreferencePair[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of pairs) {
    const community = data.rounds.get(p.round_id)?.communityId;
    if (community) counts[community] = (counts[community] ?? 0) + 1;
  }
  return counts;
}

/** The image a pair prefers against (null for a tie). */
export function loserOf(pair: PreferencePair): string | null {
  if (pair.best_image_uid === null) return null;
  return pair.best_image_uid === pair.image_0_uid ? pair.image_1_uid : pair.image_0_uid;
}

/**
 * Loss weights of preference pairs for training: a pair whose loser its own rater thumbed down
 * in that round (every up × down pair, and a pick over a thumbed-down candidate) weighs
 * `thumbedDownLoserWeight`, every other pair 1. Such a pair mostly repeats an absolute judgement
 * ("not what I asked for"), which the rater made of the loser alone; a pick over a candidate the
 * rater did not reject is the relative choice a preference model learns from
 * (docs/learning-loop.md, measured on simulated raters).
 */
export function pairTrainingWeights(data: CuratedData, pairs: readonly PreferencePair[], options: { thumbedDownLoserWeight: number }): number[] {
  const down = new Set(data.labels.filter((l) => l.signal === 'down').map((l) => `${l.raterId}|${l.imageId}`));
  return pairs.map((p) => {
    const loser = loserOf(p);
    return loser !== null && down.has(`${p.user_id}|${loser}`) ? options.thumbedDownLoserWeight : 1;
  });
}
