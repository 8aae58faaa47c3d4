import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ClipTokenizer } from '@vca/diffusion';
import { beforeAll, describe, expect, it } from 'vitest';
import { captionSpec, createRng, generateDialogue, sampleScene, specOf, writeTokenizer, type BuiltTokenizer } from '@vca/world';

describe('tokenizer builder', () => {
  let built: BuiltTokenizer;
  let tokenizer: Tokenizer;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vca-world-tokenizer-'));
    built = writeTokenizer(dir);
    // Load from the written files, as the diffusion runtime will.
    tokenizer = new Tokenizer(
      JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
    );
  });

  it('is a small word-level vocabulary with BOS/EOS around every prompt', () => {
    expect(built.vocabSize).toBeGreaterThan(100);
    expect(built.vocabSize).toBeLessThan(400);
    const encoded = tokenizer.encode('A medium-sized Grey circle in the top-left, on a blue background!');
    expect(encoded.tokens).toEqual(['[BOS]', 'a', 'medium', 'sized', 'grey', 'circle', 'in', 'the', 'top', 'left', ',', 'on', 'a', 'blue', 'background', '[EOS]']);
    expect(encoded.ids[0]).toBe(2);
    expect(encoded.ids.at(-1)).toBe(3);
    expect(tokenizer.decode(tokenizer.encode('make the circle bigger').ids, { skip_special_tokens: true })).toBe('make the circle bigger');
  });

  it('maps words outside the grammar to [UNK]', () => {
    expect(tokenizer.encode('a zebra').ids[2]).toBe(1);
  });

  it('covers every caption and feedback the grammars produce, within the sequence length', () => {
    const rng = createRng(99);
    const texts = [
      ...Array.from({ length: 500 }, (_, i) => captionSpec(specOf(sampleScene(50_000 + i)), rng)),
      ...Array.from({ length: 100 }, (_, i) => generateDialogue(70_000 + i).rounds.map((r) => r.utterance)).flat(),
    ];
    for (const text of texts) {
      const { ids } = tokenizer.encode(text);
      expect(ids, text).not.toContain(1);
      expect(ids.length).toBeLessThanOrEqual(built.maxLength);
    }
  });

  it('loads in the diffusion runtime like any export: fixed length, [PAD]-padded', () => {
    const runtime = ClipTokenizer.load(dir);
    expect(runtime.maxLength).toBe(built.maxLength);
    const ids = runtime.encode('a red circle on a blue background');
    expect(ids).toHaveLength(built.maxLength);
    expect(ids.slice(0, 9)).toEqual(tokenizer.encode('a red circle on a blue background').ids);
    expect(ids.at(-1)).toBe(0);
    expect(runtime.decode(ids)).toBe('a red circle on a blue background');
  });
});
