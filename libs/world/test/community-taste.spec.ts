import { describe, expect, it } from 'vitest';
import {
  CommunityTasteSchema,
  SceneOracle,
  SceneRenderer,
  completeSpec,
  createRng,
  sampleScene,
  sampleTaste,
  simulateVotes,
  specOf,
  tasteScore,
  visibleStyleOf,
  type CommunityTaste,
} from '@vca/world';

const renderer = new SceneRenderer();
const oracle = new SceneOracle();

describe('community taste', () => {
  it('samples valid, reproducible tastes with at least one strong like', () => {
    for (let seed = 0; seed < 50; seed++) {
      const taste = sampleTaste(seed);
      expect(CommunityTasteSchema.parse(taste)).toEqual(sampleTaste(seed));
      const strengths = [...Object.values(taste.outline), taste.textured, taste.shaded, taste.tilted].map(Math.abs);
      expect(Math.max(...strengths)).toBe(1);
    }
  });

  it('scores styles the taste likes above those it dislikes', () => {
    const taste: CommunityTaste = { outline: { none: 0, dark: 1, light: -1 }, textured: 0.5, shaded: 0, tilted: 0 };
    const liked = visibleStyleOf({ outline: 'dark', shading: 'flat', texture: 'stripes', rotationDeg: 0, backgroundPattern: 'flat' });
    const disliked = visibleStyleOf({ outline: 'light', shading: 'flat', texture: 'none', rotationDeg: 0, backgroundPattern: 'flat' });
    expect(tasteScore(liked, taste)).toBeGreaterThan(tasteScore(disliked, taste));
  });

  it('simulated raters pick what the prompt asks first, then what the community likes', () => {
    const taste: CommunityTaste = { outline: { none: -1, dark: 1, light: -1 }, textured: 0, shaded: 0, tilted: 0 };
    const rng = createRng(21);
    let pickedDark = 0;
    let pickedWrong = 0;
    const rounds = 40;
    for (let i = 0; i < rounds; i++) {
      const spec = specOf(sampleScene(400_000 + i));
      const candidates = Array.from({ length: 4 }, (_, k) => {
        const scene = completeSpec(spec, rng);
        // Candidate 3 ignores the prompt's background: right style or not, it should lose.
        const drawn = k === 3 ? { ...scene, background: scene.objects.some((o) => o.color === 'white') || scene.background === 'white' ? 'black' as const : 'white' as const } : scene;
        return { scene: drawn, verdict: oracle.judge(renderer.render(drawn), spec) };
      });
      const { pick, votes } = simulateVotes(candidates, taste, rng);
      expect(votes).toHaveLength(4);
      if (pick === 3) pickedWrong++;
      else if (candidates[pick].scene.style.outline === 'dark') pickedDark++;
    }
    expect(pickedWrong / rounds).toBeLessThan(0.1);
    // Three right candidates with uniformly random outlines: a taste-blind pick is dark 1/3 of
    // the time. Over 200 rounds this rater picks dark 51% (a dark one is on offer in 71.5%;
    // the rest is rater noise and outlines the renderer leaves out or the oracle misreads).
    expect(pickedDark / rounds).toBeGreaterThan(0.45);
  });
});
