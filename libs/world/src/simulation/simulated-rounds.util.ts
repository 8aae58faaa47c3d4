import { COLORS, POSITIONS, SIZES, specOf, type Scene, type SceneSpec } from '../scene/scene.schema';
import { sampleSceneWith, sampleStyle } from '../scene/scene.sampler';
import { captionSpec } from '../language/caption.grammar';
import { createRng, deriveSeed, type Rng } from '../util/rng.util';
import type { SceneRenderer } from '../render/scene.renderer';
import type { RasterImage } from '../render/image.types';
import type { SceneOracle, OracleVerdict } from '../oracle/scene.oracle';
import { sceneTasteScore, simulateVotes, tasteScore, visibleStyleOf, type CommunityTaste, type RaterOptions, type SimulatedVotes } from './community-taste.simulator';

/**
 * Rounds as a community's raters see them, without running a diffusion model: the candidates
 * of a round are renders of the prompt's scene with independently sampled styles (what a
 * text-to-image model leaves open), a share of them with one named attribute wrong (what a
 * model gets wrong). Raters vote with `simulateVotes`. Used to train and evaluate reward models
 * on a known hidden taste (benchmarks and tests).
 */
export interface SimulatedCandidate {
  scene: Scene;
  image: RasterImage;
  verdict: OracleVerdict;
  /** The hidden taste's score of what the oracle reads, in [−1, 1] (what raters go by). */
  taste: number;
  /** The hidden taste's score of the style the scene was rendered with (no reading errors). */
  renderedTaste: number;
  /** Noise-free rater utility (intent and taste, no Gumbel term): the ground truth of a pair. */
  utility: number;
}

export interface SimulatedRound {
  dialogue: number;
  prompt: string;
  candidates: SimulatedCandidate[];
  /** One entry per rater. */
  votes: SimulatedVotes[];
}

export interface SimulatedRoundOptions {
  candidates?: number;
  raters?: number;
  /** Share of candidates with one named attribute wrong. */
  errorRate?: number;
  /** Share of the prompt's attributes (colour, size, place, background) left unsaid. */
  unsaidRate?: number;
  rater?: RaterOptions;
}

function partialSpec(scene: Scene, rng: Rng, unsaid: number): SceneSpec {
  const spec = specOf(scene);
  return {
    background: rng.chance(unsaid) ? undefined : spec.background,
    objects: spec.objects.map((o) => ({
      shape: o.shape,
      color: rng.chance(unsaid) ? undefined : o.color,
      size: rng.chance(unsaid) ? undefined : o.size,
      position: rng.chance(unsaid) ? undefined : o.position,
    })),
  };
}

/** The scene with one named attribute of one object changed (to a value still valid). */
function withOneError(scene: Scene, rng: Rng): Scene {
  const objects = scene.objects.map((o) => ({ ...o }));
  const i = rng.int(objects.length);
  const o = objects[i]!;
  const kind = rng.pick(['color', 'size', 'position'] as const);
  if (kind === 'color') o.color = rng.pick(COLORS.filter((c) => c !== o.color && c !== scene.background && !objects.some((x) => x.color === c)));
  else if (kind === 'size') o.size = rng.pick(SIZES.filter((s) => s !== o.size));
  else o.position = rng.pick(POSITIONS.filter((p) => !objects.some((x) => x.position === p)));
  return { ...scene, objects };
}

export function simulateRound(
  seed: number,
  dialogue: number,
  taste: CommunityTaste,
  renderer: SceneRenderer,
  oracle: SceneOracle,
  options: SimulatedRoundOptions = {},
): SimulatedRound {
  const rng = createRng(deriveSeed(seed, 'round', dialogue));
  const target = sampleSceneWith(rng);
  const spec = partialSpec(target, rng, options.unsaidRate ?? 0.25);
  const prompt = captionSpec(spec, rng);
  const intentWeight = options.rater?.intentWeight ?? 3;
  const tasteWeight = options.rater?.tasteWeight ?? 1;
  const candidates: SimulatedCandidate[] = [];
  for (let c = 0; c < (options.candidates ?? 4); c++) {
    let scene: Scene = { ...target, style: sampleStyle(rng) };
    if (rng.chance(options.errorRate ?? 0.3)) scene = withOneError(scene, rng);
    const image = renderer.render(scene);
    const verdict = oracle.judge(image, spec);
    const t = sceneTasteScore(verdict.parsed, taste);
    const intent = verdict.match ? 1 : 0.5 * verdict.score;
    const visible = visibleStyleOf(scene.style);
    const rendered = scene.objects.reduce((a, o) => a + tasteScore({ ...visible, tiltDeg: o.shape === 'circle' ? undefined : visible.tiltDeg }, taste), 0) / scene.objects.length;
    candidates.push({ scene, image, verdict, taste: t, renderedTaste: rendered, utility: intentWeight * intent + tasteWeight * t });
  }
  const votes = Array.from({ length: options.raters ?? 3 }, () => simulateVotes(candidates, taste, rng, options.rater));
  return { dialogue, prompt, candidates, votes };
}
