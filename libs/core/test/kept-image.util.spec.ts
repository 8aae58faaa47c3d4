import { describe, expect, it } from 'vitest';
import { chooseKeptImage, type CandidateStanding } from '../src/conversation/kept-image.util';

const c = (candidateIndex: number, ups = 0, downs = 0): CandidateStanding => ({
  imageId: `img-${candidateIndex}`,
  candidateIndex,
  storageKey: `${candidateIndex}.png`,
  ups,
  downs,
});

describe(chooseKeptImage.name, () => {
  it('prefers the kept (picked) image over ratings', () => {
    expect(chooseKeptImage('img-2', [c(0), c(1, 5), c(2, 0, 3)])!.imageId).toBe('img-2');
  });
  it('otherwise takes the best net rating, the lower index winning a tie', () => {
    expect(chooseKeptImage(null, [c(0), c(1, 2), c(2, 3, 1), c(3, 1)])!.imageId).toBe('img-1');
    expect(chooseKeptImage(null, [c(0, 0, 1), c(1), c(2)])!.imageId).toBe('img-1');
  });
  it('falls back to candidate 0 when nobody rated, and to ratings when the kept image is gone', () => {
    expect(chooseKeptImage(null, [c(2), c(0), c(1)])!.imageId).toBe('img-0');
    expect(chooseKeptImage('deleted', [c(0), c(1, 1)])!.imageId).toBe('img-1');
    expect(chooseKeptImage(null, [])).toBeNull();
  });
  it('takes the highest reward score when nobody picked or voted', () => {
    const scored = (i: number, reward: number | null, ups = 0) => ({ ...c(i, ups), reward });
    expect(chooseKeptImage(null, [scored(0, 0.1), scored(1, 0.7), scored(2, 0.4)])!.imageId).toBe('img-1');
    // Unscored candidates are ignored; an equal score keeps the lower index.
    expect(chooseKeptImage(null, [scored(0, null), scored(1, 0.2), scored(2, 0.2)])!.imageId).toBe('img-1');
    // Votes and picks still come first.
    expect(chooseKeptImage(null, [scored(0, 0.1, 1), scored(1, 0.9)])!.imageId).toBe('img-0');
    expect(chooseKeptImage('img-0', [scored(0, 0.1), scored(1, 0.9)])!.imageId).toBe('img-0');
    // Nothing scored: candidate 0.
    expect(chooseKeptImage(null, [scored(1, null), scored(0, null)])!.imageId).toBe('img-0');
  });
});
