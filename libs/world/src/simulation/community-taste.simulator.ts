import { z } from 'zod';
import { createRng, type Rng } from '../util/rng.util';
import { OUTLINES, type SceneStyle } from '../scene/scene.schema';
import type { ParsedObject, ParsedScene } from '../oracle/image.parser';
import type { OracleVerdict } from '../oracle/scene.oracle';

/**
 * A simulated community's taste over the style attributes no prompt names: weights in
 * [−1, 1] per visible style value. It is what preference learning should pick up from votes
 * (docs/vca-method.md §3) although no user ever states it.
 */
export const CommunityTasteSchema = z.object({
  outline: z.record(z.enum(OUTLINES), z.number().min(-1).max(1)),
  textured: z.number().min(-1).max(1),
  shaded: z.number().min(-1).max(1),
  /** Positive: likes tilted shapes; negative: likes them upright. */
  tilted: z.number().min(-1).max(1),
});
export type CommunityTaste = z.infer<typeof CommunityTasteSchema>;

/** The style of one object as both the renderer (ground truth) and the oracle (read) can state it. */
export interface VisibleStyle {
  outline: (typeof OUTLINES)[number];
  textured: boolean;
  shaded: boolean;
  /** Absolute rotation in degrees; undefined where it cannot be seen (circles). */
  tiltDeg?: number;
}

export function visibleStyleOf(style: SceneStyle): VisibleStyle {
  return { outline: style.outline, textured: style.texture !== 'none', shaded: style.shading !== 'flat', tiltDeg: Math.abs(style.rotationDeg) };
}

export function visibleStyleOfParsed(o: ParsedObject): VisibleStyle {
  return { ...o.style, tiltDeg: o.rotationDeg === undefined ? undefined : Math.abs(o.rotationDeg) };
}

/** A random taste with one or two strong likes and mild indifference elsewhere. */
export function sampleTaste(seed: number): CommunityTaste {
  const rng: Rng = createRng(seed);
  const mild = () => rng.uniform(-0.2, 0.2);
  const taste: CommunityTaste = {
    outline: { none: mild(), dark: mild(), light: mild() },
    textured: mild(),
    shaded: mild(),
    tilted: mild(),
  };
  const likes = rng.shuffle(['outline', 'textured', 'shaded', 'tilted'] as const).slice(0, 1 + rng.int(2));
  for (const like of likes) {
    const sign = rng.chance(0.5) ? 1 : -1;
    if (like === 'outline') taste.outline[rng.pick(OUTLINES)] = 1;
    else taste[like] = sign;
  }
  return taste;
}

/** Taste score of one object's style in [−1, 1] (mean of the attribute terms). */
export function tasteScore(style: VisibleStyle, taste: CommunityTaste): number {
  const terms = [taste.outline[style.outline], (style.textured ? 1 : -1) * taste.textured, (style.shaded ? 1 : -1) * taste.shaded];
  // Tilt counts only where visible; 0° ↦ −1, ≥ 20° ↦ +1.
  if (style.tiltDeg !== undefined) terms.push(Math.max(-1, Math.min(1, style.tiltDeg / 10 - 1)) * taste.tilted);
  return terms.reduce((a, b) => a + b, 0) / terms.length;
}

/** Taste score of a whole image: the mean over the objects the oracle read (0 when none). */
export function sceneTasteScore(parsed: ParsedScene, taste: CommunityTaste): number {
  if (parsed.objects.length === 0) return 0;
  return parsed.objects.reduce((sum, o) => sum + tasteScore(visibleStyleOfParsed(o), taste), 0) / parsed.objects.length;
}

export const RaterOptionsSchema = z.object({
  /** How much intent (the oracle's score) outweighs taste in a rater's utility. */
  intentWeight: z.number().nonnegative().default(3),
  tasteWeight: z.number().nonnegative().default(1),
  /** Scale of the Gumbel noise on each rater's utility (raters disagree). */
  noise: z.number().nonnegative().default(0.3),
  /** Utility above which a candidate gets a thumbs-up (below: thumbs-down). */
  upThreshold: z.number().default(2.5),
});
export type RaterOptions = z.input<typeof RaterOptionsSchema>;

export interface SimulatedVotes {
  /** Index of the candidate the rater picked. */
  pick: number;
  votes: ('up' | 'down')[];
}

/**
 * One simulated rater looking at a round's candidates: utility = intentWeight · intent (1 when
 * the oracle finds every named attribute, else half its score) + tasteWeight · taste score +
 * Gumbel noise; picks the best and thumbs each candidate up or down
 * against a threshold. A stand-in for the humans of the paper's §3, for tests and simulations.
 */
export function simulateVotes(
  candidates: readonly { verdict: OracleVerdict }[],
  taste: CommunityTaste,
  rng: Rng,
  options: RaterOptions = {},
): SimulatedVotes {
  const o = RaterOptionsSchema.parse(options);
  const gumbel = () => -Math.log(-Math.log(Math.max(1e-12, rng.next())));
  // Any mistake halves the intent term: raters want what they asked for before any style.
  const intent = (v: OracleVerdict) => (v.match ? 1 : 0.5 * v.score);
  const utility = candidates.map(
    (c) => o.intentWeight * intent(c.verdict) + o.tasteWeight * sceneTasteScore(c.verdict.parsed, taste) + o.noise * gumbel(),
  );
  const pick = utility.reduce((best, u, i) => (u > utility[best] ? i : best), 0);
  return { pick, votes: utility.map((u) => (u > o.upThreshold ? 'up' : 'down')) };
}
