import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer, DiffusionModelError, SeededNoise, fixtureTokenizerJson, fixtureVocab, philox4x32 } from '../src';

const hex = (a: number[]) => a.map((x) => x.toString(16).padStart(8, '0')).join(' ');

describe('Philox4x32-10', () => {
  it('matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const f = 0xffffffff;
    expect(hex(philox4x32([f, f, f, f], [f, f]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });
});

describe(SeededNoise.name, () => {
  it('is reproducible and independent of how draws are chunked', () => {
    const whole = new SeededNoise(42).randn(10);
    const g = new SeededNoise(42);
    const parts = [...g.randn(3), ...g.randn(1), ...g.randn(6)];
    expect(parts).toEqual(Array.from(whole));
    expect(Array.from(new SeededNoise(43).randn(10))).not.toEqual(Array.from(whole));
    expect(Array.from(new SeededNoise(42, 1).randn(10))).not.toEqual(Array.from(whole));
  });

  it('is standard normal (mean ≈ 0, variance ≈ 1 over 40 000 draws)', () => {
    const z = new SeededNoise(7).randn(40_000);
    const mean = z.reduce((s, v) => s + v, 0) / z.length;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  it('rejects seeds outside uint32', () => {
    expect(() => new SeededNoise(-1)).toThrow(/uint32/);
    expect(() => new SeededNoise(2 ** 32)).toThrow(/uint32/);
  });
});

describe(ClipTokenizer.name, () => {
  const tok = ClipTokenizer.fromJson(fixtureTokenizerJson(), { model_max_length: 8 });

  it('adds start/end tokens, lowercases, and pads to model_max_length', () => {
    const ids = tok.encode('A  RED circle');
    expect(ids).toHaveLength(8);
    expect(tok.decode(ids)).toBe('a red circle');
    const { vocab } = fixtureVocab();
    expect(ids.slice(0, 5)).toEqual([vocab['<|startoftext|>'], vocab['a</w>'], vocab['red</w>'], vocab['circle</w>'], vocab['<|endoftext|>']]);
    expect(ids.slice(5)).toEqual([vocab['<|endoftext|>'], vocab['<|endoftext|>'], vocab['<|endoftext|>']]);
  });

  it('truncates keeping the end token', () => {
    const ids = tok.encode('a red blue green circle square cat dog');
    const { vocab } = fixtureVocab();
    expect(ids).toHaveLength(8);
    expect(ids[7]).toBe(vocab['<|endoftext|>']);
    const full = ClipTokenizer.fromJson(fixtureTokenizerJson(), { model_max_length: 32 }).encode('a red blue green circle square cat dog');
    expect(ids.slice(0, 7)).toEqual(full.slice(0, 7));
  });

  it('uses the configured pad token (SD 2 pads with "!")', () => {
    const t = ClipTokenizer.fromJson(fixtureTokenizerJson(), { model_max_length: 6, pad_token: '!' });
    const bang = fixtureVocab().vocab['!'];
    expect(t.padId).toBe(bang);
    expect(t.encode('cat').slice(3)).toEqual([bang, bang, bang]);
  });

  it('converts vocab.json + merges.txt to the same encoding as tokenizer.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-tok-'));
    const { vocab, merges } = fixtureVocab();
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(join(dir, 'merges.txt'), ['#version: 0.2', ...merges].join('\n'));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 8 }));
    expect(ClipTokenizer.load(dir).encode('a small dog on the background')).toEqual(tok.encode('a small dog on the background'));
  });

  it('names the missing files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vca-tok-'));
    expect(() => ClipTokenizer.load(dir)).toThrow(DiffusionModelError);
    expect(() => ClipTokenizer.load(dir)).toThrow(/tokenizer.json, or vocab.json and merges.txt/);
  });
});
