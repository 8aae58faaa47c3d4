import type { DialogueSummary, DialogueView, ImageView as CoreImageView, RoundView as CoreRoundView } from '@vca/core';
import type { ImageView, RoundView, ThreadDetail, ThreadSummary } from './round-view';

/** Same-origin path of an image in the web chat (served by ImagesController). */
export function imageUrl(storageKey: string): string {
  return `/images/${storageKey}`;
}

/** A candidate's reward score as every adapter shows it: `★ 0.82`; empty when unscored. */
export function formatScore(image: Pick<ImageView, 'score'>): string {
  return image.score ? `★ ${image.score.reward.toFixed(2)}` : '';
}

/** The round's note on who scored it: `scored by <version>`; null for the baseline or unscored. */
export function scoredByLine(round: Pick<RoundView, 'scoredBy'>): string | null {
  return round.scoredBy ? `scored by ${round.scoredBy}` : null;
}

function toImageView(image: CoreImageView, keptImageId: string | null, mine: readonly string[]): ImageView {
  return {
    id: image.id,
    candidateIndex: image.candidateIndex,
    seed: image.seed,
    // Text-to-image runs the whole schedule; the core stores strength 1 there, which says nothing.
    strength: image.strength >= 1 ? null : image.strength,
    steps: image.steps,
    guidanceScale: image.guidanceScale,
    modelVersion: image.modelVersion,
    storageKey: image.storageKey,
    url: imageUrl(image.storageKey),
    counts: { ...image.feedback },
    mine: [...mine],
    kept: image.id === keptImageId,
    score: typeof image.scores.reward === 'number' ? { reward: image.scores.reward, cosine: image.scores.cosine ?? image.scores.reward } : null,
  };
}

/** `mine` maps image id → signals the viewer has active; empty for broadcasts. */
export function toRoundView(round: CoreRoundView, mine: ReadonlyMap<string, readonly string[]> = new Map()): RoundView {
  return {
    id: round.id,
    dialogueId: round.dialogueId,
    index: round.index,
    userText: round.userText,
    refinedPrompt: round.refinedPrompt,
    edits: round.edits.map((e) => ({ ...e })),
    negativePrompt: round.negativePrompt,
    mode: round.mode,
    origin: round.origin,
    sourceRoundId: round.sourceRoundId,
    status: round.status,
    error: round.failureReason,
    parentImageId: round.parentImageId,
    createdAt: round.createdAt.toISOString(),
    images: round.images.map((image) => toImageView(image, round.keptImageId, mine.get(image.id) ?? [])),
    scoredBy: round.rewardVersion?.name ?? null,
  };
}

export function toThreadSummary(d: DialogueSummary, viewerId: string | null = null): ThreadSummary {
  return {
    id: d.id,
    title: d.lastPrompt ?? '(empty dialogue)',
    ownerId: d.ownerId,
    mine: d.ownerId === viewerId,
    createdAt: d.createdAt.toISOString(),
    roundCount: d.roundCount,
  };
}

export function toThreadDetail(
  d: DialogueView,
  mine: ReadonlyMap<string, readonly string[]> = new Map(),
  viewerId: string | null = null,
): ThreadDetail {
  const rounds = d.rounds.map((r) => toRoundView(r, mine));
  return {
    id: d.id,
    title: rounds.at(-1)?.refinedPrompt ?? '(empty dialogue)',
    ownerId: d.ownerId,
    mine: d.ownerId === viewerId,
    createdAt: d.createdAt.toISOString(),
    roundCount: rounds.length,
    rounds,
  };
}
