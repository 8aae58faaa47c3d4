import { describe, expect, it } from 'vitest';
import type { RoundView } from '../src/chat/round-view';
import { toRoundView } from '../src/chat/round-view.mapper';
import { renderResultText } from '../src/discord/discord-round.renderer';
import { renderSlackResult } from '../src/slack/slack-round.renderer';
import type { RoundView as CoreRoundView } from '@vca/core';

/** A completed core round of two candidates, scored or not. */
function coreRound(scored: { version: string | null } | null): CoreRoundView {
  const image = (i: number, reward: number) => ({
    id: `00000000-0000-4000-8000-00000000000${i}`,
    roundId: 'r',
    candidateIndex: i,
    seed: 100 + i,
    steps: 4,
    strength: 1,
    guidanceScale: 2.5,
    modelVersion: 'default-abc',
    loraVersions: [],
    contentHash: 'a'.repeat(64),
    storageKey: `${'a'.repeat(64)}.png`,
    width: 64,
    height: 64,
    scores: (scored ? { reward, cosine: reward / 2 } : {}) as Record<string, number>,
    rewardVersionId: scored?.version ? '11111111-1111-4111-8111-111111111111' : null,
    feedback: { up: 0, down: 0, pick: 0, tie: 0 },
  });
  return {
    id: 'round-1',
    dialogueId: 'd',
    index: 1,
    requesterId: 'x',
    userText: 'a red circle',
    refinedPrompt: 'a red circle',
    negativePrompt: '',
    edits: [],
    refinerSource: 'initial',
    mode: 'txt2img',
    origin: 'message',
    sourceRoundId: null,
    parentImageId: null,
    keptImageId: null,
    status: 'completed',
    failureReason: null,
    candidateCount: 2,
    postedAt: null,
    postedMessageId: null,
    createdAt: new Date(0),
    completedAt: new Date(0),
    images: [image(0, 0.8234), image(1, 0.4)],
    rewardVersion: scored?.version ? { id: '11111111-1111-4111-8111-111111111111', name: scored.version } : null,
  };
}

describe('round renderers show reward scores', () => {
  it('maps scores and the scoring version into the adapters’ round view', () => {
    const view: RoundView = toRoundView(coreRound({ version: 'reward-2026-12-07' }));
    expect(view.images.map((i) => i.score)).toEqual([
      { reward: 0.8234, cosine: 0.4117 },
      { reward: 0.4, cosine: 0.2 },
    ]);
    expect(view.scoredBy).toBe('reward-2026-12-07');
    const baseline = toRoundView(coreRound({ version: null }));
    expect(baseline.scoredBy).toBeNull();
    expect(baseline.images[0]!.score).not.toBeNull();
    const unscored = toRoundView(coreRound(null));
    expect(unscored.images.every((i) => i.score === null)).toBe(true);
  });

  it('Discord: "★ 0.82" per candidate and "scored by" the trained version; nothing when unscored', () => {
    const text = renderResultText(toRoundView(coreRound({ version: 'reward-2026-12-07' })));
    expect(text).toContain('#1 ★ 0.82 seed 100');
    expect(text).toContain('#2 ★ 0.40 seed 101');
    expect(text).toContain('_scored by reward-2026-12-07_');
    const baseline = renderResultText(toRoundView(coreRound({ version: null })));
    expect(baseline).toContain('#1 ★ 0.82');
    expect(baseline).not.toContain('scored by');
    const unscored = renderResultText(toRoundView(coreRound(null)));
    expect(unscored).not.toContain('★');
    expect(unscored).not.toContain('scored by');
  });

  it('Slack: the score in each candidate image title and "scored by" in the header', () => {
    const { blocks } = renderSlackResult(toRoundView(coreRound({ version: 'reward-2026-12-07' })), ['F1', 'F2']);
    const titles = blocks.filter((b) => b.type === 'image').map((b) => (b.title as { text: string }).text);
    expect(titles).toEqual(['#1 · ★ 0.82 · seed 100 · default-abc', '#2 · ★ 0.40 · seed 101 · default-abc']);
    expect(JSON.stringify(blocks[0])).toContain('scored by reward-2026-12-07');
    const unscored = renderSlackResult(toRoundView(coreRound(null)), ['F1', 'F2']);
    expect(JSON.stringify(unscored.blocks)).not.toMatch(/★|scored by/);
  });
});
