import { parseArgs } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

export const TrainArgsSchema = z.object({
  stage: z.enum(['dual', 'parser', 'unet', 'text', 'export', 'all']).default('all'),
  seed: z.coerce.number().int().min(0).default(1),
  preset: z.enum(['default', 'tiny']).default('default'),
  /** JSON merged over the preset (e.g. '{"unet":{"channels":[48,96]}}'), for experiments. */
  configJson: z.string().optional(),
  unetSteps: z.coerce.number().int().positive().default(40000),
  dualSteps: z.coerce.number().int().positive().default(700),
  parserSteps: z.coerce.number().int().positive().default(6000),
  parserLr: z.coerce.number().positive().default(3e-3),
  batch: z.coerce.number().int().positive().default(16),
  dualBatch: z.coerce.number().int().positive().default(64),
  lr: z.coerce.number().positive().default(8e-4),
  dualLr: z.coerce.number().positive().default(2e-3),
  out: z.string().default('models/default'),
  work: z.string().optional(),
  maxMinutes: z.coerce.number().positive().optional(),
  threads: z.coerce.number().int().min(0).default(0),
  /**
   * Data-parallel replicas for the UNet stage (worker threads sharing --threads; its loss is a
   * per-example mean, so the replicas' mean is the batch's). 1 = one session. --batch must be a
   * multiple. Pays off with larger batches: the default model at --batch 16, 2 threads, took 97 ms
   * per step as one session and 112 ms as 2 replicas of 8 (per-replica fixed costs dominate).
   */
  replicas: z.coerce.number().int().min(1).max(16).default(1),
  checkpointEvery: z.coerce.number().int().positive().default(100),
  /** Which weights `export` writes: the EMA shadow (default) or the current ones. */
  weights: z.enum(['ema', 'current']).default('ema'),
  /** A previous run's unet checkpoint folder, or an exported model folder, to warm-start from when `work` has none (see warmStart, warmStartFromExport). */
  initFrom: z.string().optional(),
  /** An exported model folder whose dual encoder stands in for the dual stage's checkpoint when `work` has none (see exportedDualWeights). */
  dualFrom: z.string().optional(),
  /** An exported model folder whose prompt parser (text_encoder/) stands in for the parser stage's checkpoint when `work` has none. */
  parserFrom: z.string().optional(),
});
export type TrainArgs = z.output<typeof TrainArgsSchema> & { work: string };

const USAGE = `npm run model:train -- [--stage dual|parser|unet|text|export|all] [--seed 1] [--preset default|tiny] [--config <json>]
  [--unet-steps 40000] [--dual-steps 700] [--batch 16] [--dual-batch 64] [--lr 8e-4] [--dual-lr 2e-3]
  [--out models/default] [--work <checkpoint dir>] [--max-minutes m] [--threads n] [--replicas 1] [--checkpoint-every 100] [--weights ema|current] [--init-from <unet checkpoint dir | exported model dir>]
  [--dual-from <exported model dir>] [--parser-from <exported model dir>] [--parser-steps 6000] [--parser-lr 3e-3]
  "text" is an alias of "unet": the text encoder trains jointly with the UNet.`;

export function parseTrainArgs(argv: string[]): TrainArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      stage: { type: 'string' },
      seed: { type: 'string' },
      preset: { type: 'string' },
      config: { type: 'string' },
      'unet-steps': { type: 'string' },
      'dual-steps': { type: 'string' },
      batch: { type: 'string' },
      'dual-batch': { type: 'string' },
      lr: { type: 'string' },
      'dual-lr': { type: 'string' },
      out: { type: 'string' },
      work: { type: 'string' },
      'max-minutes': { type: 'string' },
      threads: { type: 'string' },
      replicas: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      weights: { type: 'string' },
      'init-from': { type: 'string' },
      'dual-from': { type: 'string' },
      'parser-from': { type: 'string' },
      'parser-steps': { type: 'string' },
      'parser-lr': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const parsed = TrainArgsSchema.safeParse({
    stage: values.stage,
    seed: values.seed,
    preset: values.preset,
    configJson: values.config,
    unetSteps: values['unet-steps'],
    dualSteps: values['dual-steps'],
    batch: values.batch,
    dualBatch: values['dual-batch'],
    lr: values.lr,
    dualLr: values['dual-lr'],
    out: values.out,
    work: values.work,
    maxMinutes: values['max-minutes'],
    threads: values.threads,
    replicas: values.replicas,
    checkpointEvery: values['checkpoint-every'],
    weights: values.weights,
    initFrom: values['init-from'],
    dualFrom: values['dual-from'],
    parserFrom: values['parser-from'],
    parserSteps: values['parser-steps'],
    parserLr: values['parser-lr'],
  });
  if (!parsed.success) throw new Error(`${z.prettifyError(parsed.error)}\n${USAGE}`);
  return { ...parsed.data, work: parsed.data.work ?? join(tmpdir(), `vca-model-train-${parsed.data.preset}-seed${parsed.data.seed}`) };
}
