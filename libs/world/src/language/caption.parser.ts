import { SceneSpecSchema, type ObjectSpec, type SceneSpec, type Shape } from '../scene/scene.schema';
import { colorOfWord, readPosition, shapeOfWord, sizeOfWord, tokenize } from './lexicon.util';

const SEPARATORS = new Set([',', ';', 'and', 'with', 'plus']);
const BACKGROUND_WORDS = new Set(['background', 'backdrop']);

export class PromptParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptParseError';
  }
}

/** Takes "<colour> background" or "background (is|to|of|in) <colour>" out of the token list. */
function extractBackground(tokens: string[]): { background?: SceneSpec['background']; rest: string[] } {
  const i = tokens.findIndex((t) => BACKGROUND_WORDS.has(t));
  if (i < 0) return { rest: tokens };
  const candidates = [i - 1, i - 2, i + 1, i + 2, i + 3];
  for (const j of candidates) {
    const color = j >= 0 && j < tokens.length ? colorOfWord(tokens[j]) : undefined;
    if (color) {
      const rest = tokens.filter((_, k) => k !== i && k !== j);
      return { background: color, rest };
    }
  }
  return { rest: tokens.filter((_, k) => k !== i) };
}

function chunkBySeparators(tokens: readonly string[]): string[][] {
  const chunks: string[][] = [[]];
  for (const t of tokens) {
    if (SEPARATORS.has(t)) chunks.push([]);
    else chunks[chunks.length - 1].push(t);
  }
  return chunks.filter((c) => c.length > 0);
}

/** A chunk with two shape nouns ("a red circle next to a star") is split before the second one's modifiers. */
function splitMultiShape(chunk: readonly string[]): string[][] {
  const shapeAt = chunk.flatMap((t, i) => (shapeOfWord(t) ? [i] : []));
  if (shapeAt.length <= 1) return [[...chunk]];
  const parts: string[][] = [];
  let start = 0;
  for (let k = 1; k < shapeAt.length; k++) {
    let cut = shapeAt[k];
    while (cut - 1 > shapeAt[k - 1] && (colorOfWord(chunk[cut - 1]) || sizeOfWord(chunk[cut - 1]) || ['a', 'an', 'the'].includes(chunk[cut - 1]))) cut--;
    parts.push(chunk.slice(start, cut));
    start = cut;
  }
  parts.push(chunk.slice(start));
  return parts;
}

function readObject(chunk: readonly string[], shape: Shape): ObjectSpec {
  const object: ObjectSpec = { shape };
  for (const t of chunk) {
    const color = colorOfWord(t);
    if (color) object.color = color;
    const size = sizeOfWord(t);
    if (size) object.size = size;
  }
  const position = readPosition(chunk);
  if (position) object.position = position;
  return object;
}

/**
 * Prompt → scene spec, for the caption grammar's language (any paraphrase `captionSpec`
 * produces, and the looser phrasings users type in the same vocabulary). Words outside the
 * vocabulary are ignored; attributes nobody named stay undefined.
 */
export function parsePrompt(text: string): SceneSpec {
  const { background, rest } = extractBackground(tokenize(text));
  // Phrases without a shape noun (", large," or "in the top left") belong to the object before
  // them, or to the next one when they open the prompt.
  const groups: string[][] = [];
  let pending: string[] = [];
  for (const chunk of chunkBySeparators(rest).flatMap(splitMultiShape)) {
    if (chunk.some((t) => shapeOfWord(t))) {
      groups.push([...pending, ...chunk]);
      pending = [];
    } else if (groups.length > 0) {
      groups[groups.length - 1].push(...chunk);
    } else {
      pending.push(...chunk);
    }
  }
  const objects: ObjectSpec[] = [];
  for (const group of groups) {
    const shape = group.map(shapeOfWord).find((s) => s !== undefined);
    if (shape && !objects.some((o) => o.shape === shape)) objects.push(readObject(group, shape));
  }
  const parsed = SceneSpecSchema.safeParse({ background, objects });
  if (!parsed.success) throw new PromptParseError(`prompt does not describe a valid scene: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
