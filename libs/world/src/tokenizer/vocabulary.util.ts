import { createRng } from '../util/rng.util';
import { sampleSceneWith } from '../scene/scene.sampler';
import { SHAPES, specOf } from '../scene/scene.schema';
import { captionSpec } from '../language/caption.grammar';
import { generateDialogue } from '../language/dialogue.generator';
import { COLOR_WORDS, POSITION_PHRASES, SHAPE_WORDS, SIZE_WORDS, surfaceTokens } from '../language/lexicon.util';

export interface VocabularyStats {
  words: string[];
  /** Longest token sequence seen in the sampled prompts and feedback (without BOS/EOS). */
  longestSequence: number;
}

/**
 * Every token the caption and feedback grammars can emit: the lexicon tables exhaustively,
 * plus the template words, collected by sampling the grammars (enough samples that every
 * template and choice shows up; the tokenizer test checks no grammar output maps to [UNK]).
 */
export function collectVocabulary(samples = 4000, seed = 1): VocabularyStats {
  // Deterministic in its arguments and ~1 s to sample, so computed once per process.
  const key = `${samples}:${seed}`;
  const cached = CACHE.get(key);
  if (cached) return { words: [...cached.words], longestSequence: cached.longestSequence };
  const stats = sampleVocabulary(samples, seed);
  CACHE.set(key, stats);
  return { words: [...stats.words], longestSequence: stats.longestSequence };
}

const CACHE = new Map<string, VocabularyStats>();

function sampleVocabulary(samples: number, seed: number): VocabularyStats {
  const words = new Set<string>();
  let longestSequence = 0;
  const add = (text: string) => {
    const tokens = surfaceTokens(text);
    longestSequence = Math.max(longestSequence, tokens.length);
    for (const t of tokens) words.add(t);
  };
  for (const table of [SHAPE_WORDS, COLOR_WORDS, SIZE_WORDS, POSITION_PHRASES]) {
    for (const list of Object.values(table) as string[][]) for (const w of list) add(w);
  }
  for (const shape of SHAPES) for (const w of SHAPE_WORDS[shape]) add(`${w}s`);
  // Spelling variants the parsers accept but the grammars never emit.
  add('centre coloured colored');
  const rng = createRng(seed);
  for (let i = 0; i < samples; i++) add(captionSpec(specOf(sampleSceneWith(rng)), rng));
  for (let i = 0; i < samples / 4; i++) {
    for (const round of generateDialogue(seed * 1_000_003 + i).rounds) add(round.utterance);
  }
  return { words: [...words].sort(), longestSequence };
}
