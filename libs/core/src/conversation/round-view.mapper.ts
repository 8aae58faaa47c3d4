import type { DialogueEntity } from '../entities/dialogue.entity';
import type { ImageEntity } from '../entities/image.entity';
import type { RoundEntity } from '../entities/round.entity';
import type { DialogueView, FeedbackCounts, ImageView, RoundView } from './conversation.types';

export const NO_FEEDBACK: FeedbackCounts = Object.freeze({ up: 0, down: 0, pick: 0, tie: 0 });

export function toImageView(image: ImageEntity, feedback: FeedbackCounts = NO_FEEDBACK): ImageView {
  return {
    id: image.id,
    roundId: image.roundId,
    candidateIndex: image.candidateIndex,
    seed: image.seed,
    steps: image.steps,
    strength: image.strength,
    guidanceScale: image.guidanceScale,
    modelVersion: image.modelVersion,
    loraVersions: image.loraVersions,
    contentHash: image.contentHash,
    storageKey: image.storageKey,
    width: image.width,
    height: image.height,
    scores: image.scores,
    rewardVersionId: image.rewardVersionId ?? null,
    feedback: { ...feedback },
  };
}

/** `rewardVersion`: the name of the version that scored the images, when the caller looked it up. */
export function toRoundView(round: RoundEntity, images: ImageView[], rewardVersion: RoundView['rewardVersion'] = null): RoundView {
  return {
    id: round.id,
    dialogueId: round.dialogueId,
    index: round.index,
    requesterId: round.requesterId,
    userText: round.userText,
    refinedPrompt: round.refinedPrompt,
    negativePrompt: round.negativePrompt,
    edits: round.refinement.edits.map((e) => ({ ...e })) as RoundView['edits'],
    refinerSource: round.refinement.source,
    mode: round.mode,
    origin: round.origin,
    sourceRoundId: round.sourceRoundId,
    parentImageId: round.parentImageId,
    keptImageId: round.keptImageId,
    status: round.status,
    failureReason: round.failureReason,
    candidateCount: round.candidates.length,
    postedAt: round.postedAt,
    postedMessageId: round.postedMessageId,
    createdAt: round.createdAt,
    completedAt: round.completedAt,
    images: [...images].sort((a, b) => a.candidateIndex - b.candidateIndex),
    rewardVersion,
  };
}

export function toDialogueView(dialogue: DialogueEntity, rounds: RoundView[]): DialogueView {
  return {
    id: dialogue.id,
    platform: dialogue.platform,
    workspaceId: dialogue.workspaceId,
    channelId: dialogue.channelId,
    threadId: dialogue.threadId,
    ownerId: dialogue.ownerId,
    createdAt: dialogue.createdAt,
    rounds: [...rounds].sort((a, b) => a.index - b.index),
  };
}
