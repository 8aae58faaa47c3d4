import type { Rng } from '../util/rng.util';
import type { ObjectSpec, SceneSpec } from '../scene/scene.schema';
import { COLOR_WORDS, POSITION_PHRASES, SHAPE_WORDS, SIZE_WORDS } from './lexicon.util';

/**
 * Caption grammar: scene spec → prompt. `captionSpec` with an Rng yields paraphrases (word
 * choice, word order, list and background forms); without one it yields the canonical prompt,
 * which the rule-based prompt refiner uses so that equal specs give equal prompts.
 * Every form here is read back by `parsePrompt` (caption.parser.ts).
 */
type Chooser = <T>(items: readonly T[]) => T;

const canonical: Chooser = (items) => items[0];

function article(next: string): string {
  return /^[aeiou]/.test(next) ? 'an' : 'a';
}

function objectPhrase(o: ObjectSpec, choose: Chooser): string {
  const shape = choose(SHAPE_WORDS[o.shape]);
  const size = o.size ? choose(SIZE_WORDS[o.size]) : undefined;
  const color = o.color ? choose(COLOR_WORDS[o.color]) : undefined;
  const position = o.position ? choose(POSITION_PHRASES[o.position]) : undefined;
  const noun = choose(['plain', 'plain', 'in-color'] as const);
  let core: string;
  if (noun === 'in-color' && color) {
    const adjectives = size ? `${size} ${shape}` : shape;
    core = `${article(adjectives)} ${adjectives} in ${color}`;
  } else {
    const adjectives = [size, color, shape].filter(Boolean).join(' ');
    core = `${article(adjectives)} ${adjectives}`;
  }
  if (!position) return core;
  return choose(['after', 'after', 'before'] as const) === 'after' ? `${core} ${position}` : `${position} ${core}`;
}

function joinList(phrases: readonly string[], choose: Chooser): string {
  if (phrases.length <= 1) return phrases.join('');
  const last = phrases[phrases.length - 1];
  const head = phrases.slice(0, -1).join(', ');
  return `${head}${choose([' and ', ', and ', ' with ', ' plus '])}${last}`;
}

export function captionSpec(spec: SceneSpec, rng?: Rng): string {
  const choose: Chooser = rng ? (items) => rng.pick(items) : canonical;
  const order = rng ? rng.shuffle(spec.objects) : spec.objects;
  const objects = joinList(order.map((o) => objectPhrase(o, choose)), choose);
  if (!spec.background) return objects;
  const bg = choose(COLOR_WORDS[spec.background]);
  const form = choose([0, 1, 2, 3, 4] as const);
  switch (form) {
    case 0:
      return `${objects} on ${article(bg)} ${bg} background`;
    case 1:
      return `${article(bg)} ${bg} background with ${objects}`;
    case 2:
      return `${objects}, ${bg} background`;
    case 3:
      return `${objects} against ${article(bg)} ${bg} backdrop`;
    default:
      return `a picture of ${objects} on ${article(bg)} ${bg} background`;
  }
}

/** Several distinct paraphrases of one spec (fewer if the grammar runs out of variety). */
export function paraphrases(spec: SceneSpec, count: number, rng: Rng): string[] {
  const seen = new Set<string>();
  for (let tries = 0; seen.size < count && tries < count * 10; tries++) seen.add(captionSpec(spec, rng));
  return [...seen];
}
