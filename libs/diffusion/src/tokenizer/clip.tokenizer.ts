import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { DiffusionModelError } from '../model/diffusion-model.error';
import { clipTokenizerJson } from './clip-tokenizer-json.util';

/** `tokenizer_config.json` fields we use; special tokens may be strings or AddedToken objects. */
const tokenLike = z.union([z.string(), z.object({ content: z.string() })]).transform((t) => (typeof t === 'string' ? t : t.content));
const TokenizerConfigSchema = z.object({
  model_max_length: z.number().positive().optional(),
  pad_token: tokenLike.nullish(),
  bos_token: tokenLike.nullish(),
  eos_token: tokenLike.nullish(),
  unk_token: tokenLike.nullish(),
});

/** CLIP context length; used when the config gives none (or the 1e30 "unlimited" sentinel). */
const CLIP_MAX_LENGTH = 77;

/**
 * The text tokenizer of an SD model, through `@huggingface/tokenizers`: encodes a prompt with
 * `<|startoftext|>`/`<|endoftext|>`, truncates to `maxLength` (keeping the end token) and pads
 * with the pad token, as `CLIPTokenizer(padding="max_length", truncation=True)` does.
 */
export class ClipTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    readonly padId: number,
  ) {}

  /** Loads `tokenizer.json`, or converts `vocab.json` + `merges.txt` once, from a `tokenizer/` folder. */
  static load(dir: string, options: { maxLength?: number } = {}): ClipTokenizer {
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? TokenizerConfigSchema.parse(readJson(configPath)) : TokenizerConfigSchema.parse({});
    let json: Record<string, unknown>;
    if (existsSync(join(dir, 'tokenizer.json'))) {
      json = readJson(join(dir, 'tokenizer.json')) as Record<string, unknown>;
    } else if (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'))) {
      const vocab = z.record(z.string(), z.number().int()).parse(readJson(join(dir, 'vocab.json')));
      const merges = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n');
      json = clipTokenizerJson(vocab, merges, {
        bos: config.bos_token ?? '<|startoftext|>',
        eos: config.eos_token ?? '<|endoftext|>',
        unk: config.unk_token ?? '<|endoftext|>',
      });
    } else {
      throw new DiffusionModelError('MISSING_FILE', `${dir}: needs tokenizer.json, or vocab.json and merges.txt`);
    }
    return ClipTokenizer.fromJson(json, config, options);
  }

  static fromJson(json: Record<string, unknown>, configInput: unknown = {}, options: { maxLength?: number } = {}): ClipTokenizer {
    const config = TokenizerConfigSchema.parse(configInput);
    const tokenizer = new Tokenizer(json, configInput ?? {});
    const fromConfig = config.model_max_length && config.model_max_length < 1e6 ? config.model_max_length : CLIP_MAX_LENGTH;
    const maxLength = options.maxLength ?? fromConfig;
    const padToken = config.pad_token ?? config.eos_token ?? '<|endoftext|>';
    const padId = tokenizer.token_to_id(padToken);
    if (padId === undefined) throw new DiffusionModelError('UNSUPPORTED_CONFIG', `pad token ${padToken} is not in the vocabulary`);
    return new ClipTokenizer(tokenizer, maxLength, padId);
  }

  /** Token ids of exactly `maxLength` entries. */
  encode(text: string): number[] {
    let ids = this.tokenizer.encode(text).ids;
    if (ids.length > this.maxLength) ids = [...ids.slice(0, this.maxLength - 1), ids[ids.length - 1]!];
    return ids.concat(new Array<number>(this.maxLength - ids.length).fill(this.padId));
  }

  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: true });
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DiffusionModelError('UNSUPPORTED_CONFIG', `${path}: not valid JSON (${(err as Error).message})`);
  }
}
