/**
 * Builds a `tokenizer.json` (Hugging Face tokenizers format) for CLIP's BPE from the legacy
 * `vocab.json` + `merges.txt` pair, mirroring what `CLIPTokenizerFast` writes when it converts
 * them (transformers `convert_slow_tokenizer.CLIPConverter`): NFC + whitespace collapse +
 * lowercase, CLIP's split regex, byte-level alphabet, `</w>` end-of-word suffix, and
 * `<|startoftext|> … <|endoftext|>` around every sequence.
 */
export interface ClipSpecialTokens {
  bos: string;
  eos: string;
  unk: string;
}

const CLIP_SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

export function clipTokenizerJson(
  vocab: Record<string, number>,
  merges: string[],
  special: ClipSpecialTokens = { bos: '<|startoftext|>', eos: '<|endoftext|>', unk: '<|endoftext|>' },
): Record<string, unknown> {
  const idOf = (token: string): number => {
    const id = vocab[token];
    if (id === undefined) throw new Error(`vocab.json has no entry for special token ${token}`);
    return id;
  };
  const addedTokens = [...new Set([special.bos, special.eos, special.unk])].map((content) => ({
    id: idOf(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [special.eos, idOf(special.eos)],
      cls: [special.bos, idOf(special.bos)],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'BPEDecoder', suffix: '</w>' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: special.unk,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.filter((line) => line.trim() !== '' && !line.startsWith('#version')),
    },
  };
}

/** GPT-2/CLIP byte-to-unicode table: printable stand-ins for the 256 byte values. */
export function byteLevelAlphabet(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table = new Array<string>(256);
  bs.forEach((b, i) => (table[b] = String.fromCharCode(cs[i]!)));
  return table;
}
