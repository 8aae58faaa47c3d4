import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { SCHEDULER_NAMES } from '../schedulers/scheduler.interface';

export const DEFAULT_MODEL_DIR = 'models/default';
/** Guidance for models that recommend none (Stable Diffusion's customary scale). */
export const DEFAULT_GUIDANCE = 7.5;

export const USAGE = `usage: npm run generate -- "<prompt>" [options]
  --model <dir>         diffusers/optimum ONNX model folder (default: ${DEFAULT_MODEL_DIR} if it exists)
  --n <count>           images to generate (default 4)
  --seed <uint32>       seed of the first image; image i uses seed + i (default 1)
  --steps <count>       denoising steps (default 20)
  --guidance <w>        classifier-free guidance scale (default: the model's recommendation, else 7.5)
  --width <px> --height <px>  image size (default: the model's native size)
  --negative <text>     negative prompt
  --scheduler <name>    ${SCHEDULER_NAMES.join(' | ')} (default ddim)
  --init <png>          starting image (img2img)
  --strength <0..1>     img2img strength (default 0.6)
  --lora <file>:<scale> LoRA safetensors with its strength; repeatable
  --out <dir>           output folder (default out)
  --device <cpu|cuda>   execution provider (default cpu)
  --threads <count>     ONNX Runtime intra-op threads (default: one per core)`;

const CliSchema = z.object({
  prompt: z.string().min(1, 'a prompt is required'),
  model: z.string().min(1),
  n: z.coerce.number().int().min(1).max(64),
  seed: z.coerce.number().int().min(0).max(0xffffffff),
  steps: z.coerce.number().int().min(1).max(1000),
  /** Absent: the model's recommended scale (model_index.json), else DEFAULT_GUIDANCE. */
  guidance: z.coerce.number().min(0).max(100).optional(),
  width: z.coerce.number().int().positive().optional(),
  height: z.coerce.number().int().positive().optional(),
  negative: z.string(),
  scheduler: z.enum(SCHEDULER_NAMES),
  init: z.string().optional(),
  strength: z.coerce.number().min(0).max(1),
  loras: z.array(z.object({ path: z.string().min(1), scale: z.number() })),
  out: z.string().min(1),
  device: z.enum(['cpu', 'cuda']),
  threads: z.coerce.number().int().min(0),
});
export type GenerateCliArgs = z.output<typeof CliSchema>;

/** `file.safetensors:0.8` → path and scale (the last colon splits, so Windows paths work; scale defaults to 1). */
export function parseLoraArg(arg: string): { path: string; scale: number } {
  const m = arg.match(/^(.*):(-?\d+(?:\.\d+)?)$/);
  return m ? { path: m[1]!, scale: Number(m[2]) } : { path: arg, scale: 1 };
}

export function parseGenerateArgs(argv: string[], exists: (p: string) => boolean = existsSync): GenerateCliArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      n: { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
      steps: { type: 'string', default: '20' },
      guidance: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      negative: { type: 'string', default: '' },
      scheduler: { type: 'string', default: 'ddim' },
      init: { type: 'string' },
      strength: { type: 'string', default: '0.6' },
      lora: { type: 'string', multiple: true, default: [] },
      out: { type: 'string', default: 'out' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string', default: '0' },
    },
  });
  const model = values.model ?? (exists(DEFAULT_MODEL_DIR) ? DEFAULT_MODEL_DIR : undefined);
  if (!model) throw new Error(`--model is required (${DEFAULT_MODEL_DIR} does not exist)`);
  const parsed = CliSchema.safeParse({ ...values, prompt: positionals.join(' '), model, loras: (values.lora ?? []).map(parseLoraArg) });
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
  return parsed.data;
}
