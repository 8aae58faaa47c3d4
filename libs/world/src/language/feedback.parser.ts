import type { Shape } from '../scene/scene.schema';
import { parsePrompt } from './caption.parser';
import { FeedbackSchema, COLUMN_NAMES, ROW_NAMES, type CorrectionValue, type Feedback, type ObjectRef } from './feedback.schema';
import { colorOfWord, readGridAxes, readPosition, shapeOfWord, sizeOfWord, tokenize } from './lexicon.util';

const BACKGROUND_WORDS = new Set(['background', 'backdrop']);
const ADD_WORDS = new Set(['add', 'include', 'another']);
const REMOVE_WORDS = new Set(['remove', 'delete', 'erase', 'rid', 'away', 'without']);
const RESHAPE_WORDS = new Set(['into', 'instead', 'replace']);
const BIGGER_WORDS = new Set(['bigger', 'larger', 'enlarge', 'grow', 'huger']);
const SMALLER_WORDS = new Set(['smaller', 'shrink', 'tinier']);
const DIRECTION_WORDS: Readonly<Record<string, 'up' | 'down' | 'left' | 'right'>> = {
  up: 'up',
  higher: 'up',
  down: 'down',
  lower: 'down',
  left: 'left',
  right: 'right',
};
const POSITION_WORDS = new Set(['top', 'upper', 'bottom', 'lower', 'left', 'right', 'center', 'middle']);

/** The object a feedback talks about: its first shape noun (with a colour right before it), else "it". */
function readTarget(tokens: readonly string[]): { ref: ObjectRef; shapeIndex: number } {
  const i = tokens.findIndex((t) => shapeOfWord(t));
  if (i < 0) return { ref: 'it', shapeIndex: -1 };
  const shape = shapeOfWord(tokens[i]) as Shape;
  const color = i > 0 ? colorOfWord(tokens[i - 1]) : undefined;
  return { ref: color ? { shape, color } : { shape }, shapeIndex: i };
}

function readCorrection(tokens: readonly string[]): CorrectionValue | undefined {
  for (const t of tokens) {
    const color = colorOfWord(t);
    if (color) return { attribute: 'color', color };
  }
  for (const t of tokens) {
    const size = sizeOfWord(t);
    if (size) return { attribute: 'size', size };
  }
  const position = readPosition(tokens);
  if (position) return { attribute: 'position', position };
  const shape = tokens.map(shapeOfWord).find((s) => s !== undefined);
  return shape ? { attribute: 'shape', shape } : undefined;
}

const PLACE_WORDS = new Set(['put', 'place', 'draw', 'insert']);

/** "put a small star in the top left": a placing verb and an indefinite article before the only shape noun. */
function placesNewObject(tokens: readonly string[]): boolean {
  const shapes = tokens.flatMap((t, i) => (shapeOfWord(t) ? [i] : []));
  if (shapes.length !== 1 || !tokens.some((t) => PLACE_WORDS.has(t))) return false;
  let i = shapes[0] - 1;
  while (i >= 0 && (colorOfWord(tokens[i]) || sizeOfWord(tokens[i]) || tokens[i] === 'sized' || tokens[i] === 'mid')) i--;
  return tokens[i] === 'a' || tokens[i] === 'an';
}

/** "move it left" is a one-cell shift; "move it to the left" names the column (see feedback.schema.ts). */
function readShift(tokens: readonly string[]): 'up' | 'down' | 'left' | 'right' | undefined {
  const anchored = tokens.some((t, i) => POSITION_WORDS.has(t) && tokens[i - 1] === 'the');
  if (anchored) return undefined;
  const word = tokens.find((t) => t in DIRECTION_WORDS);
  return word ? DIRECTION_WORDS[word] : undefined;
}

function readMove(tokens: readonly string[], ref: ObjectRef): Feedback | undefined {
  const { row, column, center } = readGridAxes(tokens);
  if (row === undefined && column === undefined) {
    return center ? { kind: 'move', target: ref, row: 'middle', column: 'center' } : undefined;
  }
  // "the top center" / "the middle left": the centre word fixes the other axis.
  return {
    kind: 'move',
    target: ref,
    row: row !== undefined ? ROW_NAMES[row] : center ? 'middle' : undefined,
    column: column !== undefined ? COLUMN_NAMES[column] : center ? 'center' : undefined,
  };
}

/**
 * Feedback text → structured feedback, for the feedback grammar's language. Returns undefined
 * when the text says nothing the grammar knows (the caller may then treat it as a new prompt).
 */
export function parseFeedback(text: string): Feedback | undefined {
  const tokens = tokenize(text);
  if (tokens.length === 0) return undefined;
  const result = parseTokens(tokens);
  return result ? FeedbackSchema.parse(result) : undefined;
}

function parseTokens(tokens: string[]): Feedback | undefined {
  if (['no', 'nope', 'not'].includes(tokens[0])) {
    const value = readCorrection(tokens.slice(1));
    return value ? { kind: 'correction', value } : undefined;
  }
  if (tokens.some((t) => BACKGROUND_WORDS.has(t))) {
    const color = tokens.map(colorOfWord).find((c) => c !== undefined);
    return color ? { kind: 'background', color } : undefined;
  }
  if (tokens.some((t) => ADD_WORDS.has(t)) || placesNewObject(tokens)) {
    const object = parsePrompt(tokens.join(' ')).objects[0];
    return object ? { kind: 'add', object } : undefined;
  }
  const { ref, shapeIndex } = readTarget(tokens);
  if (tokens.some((t) => REMOVE_WORDS.has(t))) return { kind: 'remove', target: ref };
  // "turn the circle into a star": a reshape needs a shape noun after the reshaping word
  // ("move it into the center" is a move).
  const reshapeAt = tokens.findIndex((t) => RESHAPE_WORDS.has(t));
  if (reshapeAt >= 0 && (tokens.slice(reshapeAt).some((t) => shapeOfWord(t)) || tokens[reshapeAt] === 'instead')) {
    const shapes = tokens.map(shapeOfWord).filter((s): s is Shape => s !== undefined);
    const newShape = shapes[shapes.length - 1];
    if (!newShape) return undefined;
    return { kind: 'reshape', target: shapes.length >= 2 ? ref : 'it', shape: newShape };
  }
  if (tokens.some((t) => BIGGER_WORDS.has(t))) return { kind: 'resize', target: ref, direction: 'bigger' };
  if (tokens.some((t) => SMALLER_WORDS.has(t))) return { kind: 'resize', target: ref, direction: 'smaller' };
  const shift = readShift(tokens);
  if (shift) return { kind: 'shift', target: ref, direction: shift };
  const move = readMove(tokens, ref);
  if (move) return move;
  const size = tokens.map(sizeOfWord).find((s) => s !== undefined);
  if (size) return { kind: 'set-size', target: ref, size };
  // The new colour is one not standing right before the target noun ("make the red circle blue").
  const color = tokens.flatMap((t, i) => (i !== shapeIndex - 1 ? [colorOfWord(t)] : [])).find((c) => c !== undefined);
  if (color) return { kind: 'recolor', target: ref, color };
  return undefined;
}
