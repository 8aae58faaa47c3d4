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
});
