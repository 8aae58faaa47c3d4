import { createRng, type Rng } from '../util/rng.util';
import { captionSpec } from './caption.grammar';
import { COLOR_WORDS, POSITION_PHRASES, SHAPE_WORDS, SIZE_WORDS } from './lexicon.util';
import type { Feedback, ObjectRef } from './feedback.schema';

/**
 * Feedback grammar: structured feedback → what a user types in a later round. With an Rng it
 * paraphrases; without, it gives the first form. `parseFeedback` reads every form back.
 */
type Chooser = <T>(items: readonly T[]) => T;

function target(ref: ObjectRef, choose: Chooser): string {
  if (ref === 'it') return 'it';
  const shape = choose(SHAPE_WORDS[ref.shape]);
  return ref.color ? `the ${choose(COLOR_WORDS[ref.color])} ${shape}` : `the ${shape}`;
}

/** A move names its axes explicitly ("the top center", "the middle left"), so it never reads as one axis only. */
function movePhrase(row: string | undefined, column: string | undefined): string {
  if (row && column) return row === 'middle' && column === 'center' ? 'the center' : `the ${row} ${column}`;
  return `the ${row ?? column}`;
}

export function renderFeedback(feedback: Feedback, rng?: Rng): string {
  const choose: Chooser = rng ? (items) => rng.pick(items) : (items) => items[0];
  switch (feedback.kind) {
    case 'resize': {
      const t = target(feedback.target, choose);
      return feedback.direction === 'bigger'
        ? choose([`make ${t} bigger`, `make ${t} larger`, `${t} should be bigger`, `enlarge ${t}`, `make ${t} a bit bigger`, `grow ${t}`])
        : choose([`make ${t} smaller`, `shrink ${t}`, `${t} should be smaller`, `make ${t} a little smaller`, `make ${t} a bit smaller`]);
    }
    case 'set-size': {
      const t = target(feedback.target, choose);
      const s = choose(SIZE_WORDS[feedback.size]);
      return choose([`make ${t} ${s}`, `${t} should be ${s}`, `I want ${t} ${s}`]);
    }
    case 'move': {
      const t = target(feedback.target, choose);
      const where = movePhrase(feedback.row, feedback.column);
      const prep = choose(['to', 'to', 'into']);
      return choose([`move ${t} ${prep} ${where}`, `put ${t} in ${where}`, `place ${t} at ${where}`, `${t} should be at ${where}`]);
    }
    case 'shift': {
      const t = target(feedback.target, choose);
      const d = feedback.direction;
      const vertical = d === 'up' ? ['up', 'higher'] : d === 'down' ? ['down', 'lower'] : [d];
      const dir = choose(vertical);
      return choose([`move ${t} ${dir}`, `shift ${t} ${dir}`, `nudge ${t} ${dir}`, `move ${t} one step ${dir}`, `move ${t} a bit ${dir}`]);
    }
    case 'recolor': {
      const t = target(feedback.target, choose);
      const c = choose(COLOR_WORDS[feedback.color]);
      return choose([`make ${t} ${c}`, `change ${t} to ${c}`, `paint ${t} ${c}`, `${t} should be ${c}`, `turn ${t} ${c}`, `color ${t} ${c}`]);
    }
    case 'reshape': {
      const t = target(feedback.target, choose);
      const s = choose(SHAPE_WORDS[feedback.shape]);
      const a = /^[aeiou]/.test(s) ? 'an' : 'a';
      return choose([`turn ${t} into ${a} ${s}`, `make ${t} ${a} ${s} instead`, `replace ${t} with ${a} ${s}`]);
    }
    case 'background': {
      const c = choose(COLOR_WORDS[feedback.color]);
      return choose([`change the background to ${c}`, `make the background ${c}`, `${c} background`, `the background should be ${c}`, `use a ${c} background`]);
    }
    case 'add': {
      const phrase = captionSpec({ objects: [feedback.object] }, rng ?? undefined);
      return choose([`add ${phrase}`, `also add ${phrase}`, `include ${phrase}`, `add ${phrase} too`]);
    }
    case 'remove': {
      const t = target(feedback.target, choose);
      return choose([`remove ${t}`, `delete ${t}`, `get rid of ${t}`, `take away ${t}`, `erase ${t}`, `without ${t}`]);
    }
    case 'correction': {
      const v = feedback.value;
      const value =
        v.attribute === 'color'
          ? choose(COLOR_WORDS[v.color])
          : v.attribute === 'size'
            ? choose(SIZE_WORDS[v.size])
            : v.attribute === 'position'
              ? choose(POSITION_PHRASES[v.position])
              : `${/^[aeiou]/.test(v.shape) ? 'an' : 'a'} ${choose(SHAPE_WORDS[v.shape])}`;
      return choose([`no, ${value}`, `no, ${value}`, `no, I meant ${value}`, `no no, ${value}`]);
    }
  }
}

/** Convenience for tests and docs: a few paraphrases of one feedback. */
export function feedbackParaphrases(feedback: Feedback, count: number, seed = 1): string[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => renderFeedback(feedback, rng));
}
