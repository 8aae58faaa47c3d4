import { positionAt, type Color, type Position, type Shape, type Size } from '../scene/scene.schema';

/**
 * Surface words of the grammars. The first entry of each list is the canonical word used in
 * refined prompts; the rest are paraphrases. Every word here ends up in the tokenizer vocabulary.
 */
export const SHAPE_WORDS: Readonly<Record<Shape, readonly string[]>> = {
  circle: ['circle', 'disc', 'disk', 'ball'],
  square: ['square', 'box', 'block'],
  triangle: ['triangle'],
  star: ['star'],
  heart: ['heart'],
};

export const COLOR_WORDS: Readonly<Record<Color, readonly string[]>> = {
  red: ['red'],
  orange: ['orange'],
  yellow: ['yellow'],
  green: ['green'],
  blue: ['blue'],
  purple: ['purple', 'violet'],
  pink: ['pink'],
  white: ['white'],
  gray: ['gray', 'grey'],
  black: ['black'],
};

export const SIZE_WORDS: Readonly<Record<Size, readonly string[]>> = {
  small: ['small', 'little', 'tiny'],
  medium: ['medium', 'medium-sized', 'mid-sized'],
  large: ['large', 'big', 'huge'],
};

const SYNONYMS: Readonly<Record<string, string>> = { grey: 'gray', centre: 'center', coloured: 'colored' };

/** Lowercases and splits on anything but letters (hyphenated words become two tokens), keeping
 * commas and semicolons: the surface words, as the tokenizer sees them. */
export function surfaceTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z,;]+/g, ' ')
    .replace(/([,;])/g, ' $1 ')
    .split(/\s+/)
    .filter((t) => t.length > 0);
}

/** Surface tokens with spelling variants merged ("grey" → "gray"), for the parsers. */
export function tokenize(text: string): string[] {
  return surfaceTokens(text).map((t) => SYNONYMS[t] ?? t);
}

function inverse<K extends string>(table: Readonly<Record<K, readonly string[]>>): Map<string, K> {
  const map = new Map<string, K>();
  for (const key of Object.keys(table) as K[]) {
    for (const word of table[key]) if (!word.includes('-')) map.set(word, key);
  }
  return map;
}

const SHAPE_BY_WORD = inverse(SHAPE_WORDS);
const COLOR_BY_WORD = inverse(COLOR_WORDS);
/** "medium-sized" and "mid-sized" arrive as two tokens; "medium"/"mid" carry the meaning. */
const SIZE_BY_WORD = new Map<string, Size>([...inverse(SIZE_WORDS), ['mid', 'medium']]);

export function shapeOfWord(word: string): Shape | undefined {
  if (SHAPE_BY_WORD.has(word)) return SHAPE_BY_WORD.get(word);
  // Plurals ("circles") in corrections such as "no, the circles".
  return word.endsWith('s') ? SHAPE_BY_WORD.get(word.slice(0, -1)) : undefined;
}
export const colorOfWord = (word: string): Color | undefined => COLOR_BY_WORD.get(word);
export const sizeOfWord = (word: string): Size | undefined => SIZE_BY_WORD.get(word);

/** Paraphrases of each grid cell; the first is canonical. */
export const POSITION_PHRASES: Readonly<Record<Position, readonly string[]>> = {
  'top-left': ['in the top left', 'at the top left', 'in the upper left corner', 'in the top left corner'],
  'top-center': ['at the top', 'at the top center', 'in the top middle', 'at the upper middle'],
  'top-right': ['in the top right', 'at the top right', 'in the upper right corner', 'in the top right corner'],
  'middle-left': ['on the left', 'at the left', 'on the left side', 'in the middle left'],
  center: ['in the center', 'in the middle', 'at the center', 'in the centre'],
  'middle-right': ['on the right', 'at the right', 'on the right side', 'in the middle right'],
  'bottom-left': ['in the bottom left', 'at the bottom left', 'in the lower left corner', 'in the bottom left corner'],
  'bottom-center': ['at the bottom', 'at the bottom center', 'in the bottom middle', 'at the lower middle'],
  'bottom-right': ['in the bottom right', 'at the bottom right', 'in the lower right corner', 'in the bottom right corner'],
};

const ROW_WORDS: Readonly<Record<string, number>> = { top: 0, upper: 0, bottom: 2, lower: 2 };
const COLUMN_WORDS: Readonly<Record<string, number>> = { left: 0, right: 2 };
const CENTER_WORDS = new Set(['center', 'middle']);

/** Grid row/column named by a token list; an axis nobody named stays undefined. */
export function readGridAxes(tokens: readonly string[]): { row?: number; column?: number; center: boolean } {
  let row: number | undefined;
  let column: number | undefined;
  let center = false;
  for (const t of tokens) {
    if (t in ROW_WORDS) row = ROW_WORDS[t];
    else if (t in COLUMN_WORDS) column = COLUMN_WORDS[t];
    else if (CENTER_WORDS.has(t)) center = true;
  }
  return { row, column, center };
}

/**
 * Reads a grid cell: "top left" → top-left, "at the top" → top-center, "on the left" →
 * middle-left, "in the middle" → center. Undefined when no position word occurs.
 */
export function readPosition(tokens: readonly string[]): Position | undefined {
  const { row, column, center } = readGridAxes(tokens);
  if (row === undefined && column === undefined) return center ? 'center' : undefined;
  return positionAt(row ?? 1, column ?? 1);
}
