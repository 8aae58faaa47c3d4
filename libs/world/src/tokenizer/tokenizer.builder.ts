import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectVocabulary } from './vocabulary.util';

export const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', bos: '[BOS]', eos: '[EOS]' } as const;

export interface BuiltTokenizer {
  /** Hugging Face `tokenizer.json` (WordLevel model). */
  tokenizer: Record<string, unknown>;
  /** `tokenizer_config.json`: special tokens and the model's sequence length. */
  config: Record<string, unknown>;
  vocabSize: number;
  maxLength: number;
}

/**
 * A word-level tokenizer for the scene world's language, in the Hugging Face `tokenizers`
 * format, so the diffusion runtime loads it like any export's tokenizer.json.
 * Normalisation mirrors `tokenize` in lexicon.util.ts: lowercase, everything but letters, commas
 * and semicolons becomes a space (so "medium-sized" is two words), then whitespace/punctuation
 * splitting. Ids: [PAD]=0, [UNK]=1, [BOS]=2, [EOS]=3, then the words in sorted order.
 */
export function buildTokenizer(): BuiltTokenizer {
  const { words, longestSequence } = collectVocabulary();
  const specials = [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk, SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos];
  const vocab: Record<string, number> = {};
  [...specials, ...words].forEach((w, i) => (vocab[w] = i));
  // Room for BOS/EOS and for users' longer phrasings, rounded to a multiple of 8.
  const maxLength = Math.ceil((longestSequence + 2 + 8) / 8) * 8;
  const tokenizer = {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: {
      strategy: { Fixed: maxLength },
      direction: 'Right',
      pad_to_multiple_of: null,
      pad_id: vocab[SPECIAL_TOKENS.pad],
      pad_type_id: 0,
      pad_token: SPECIAL_TOKENS.pad,
    },
    added_tokens: specials.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'Lowercase' }, { type: 'Replace', pattern: { Regex: '[^a-z,;]+' }, content: ' ' }],
    },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: SPECIAL_TOKENS.bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: SPECIAL_TOKENS.eos, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: SPECIAL_TOKENS.bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: SPECIAL_TOKENS.eos, type_id: 0 } },
      ],
      special_tokens: Object.fromEntries(
        [SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }]),
      ),
    },
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: SPECIAL_TOKENS.unk },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: maxLength,
    pad_token: SPECIAL_TOKENS.pad,
    unk_token: SPECIAL_TOKENS.unk,
    bos_token: SPECIAL_TOKENS.bos,
    eos_token: SPECIAL_TOKENS.eos,
    do_lower_case: true,
  };
  return { tokenizer, config, vocabSize: Object.keys(vocab).length, maxLength };
}

/** Writes tokenizer.json and tokenizer_config.json into `dir` (the diffusers `tokenizer/` folder). */
export function writeTokenizer(dir: string): BuiltTokenizer {
  const built = buildTokenizer();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(built.tokenizer, null, 2) + '\n');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(built.config, null, 2) + '\n');
  return built;
}
