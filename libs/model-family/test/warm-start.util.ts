import { Rng, type Trainer, type TensorData } from '@vca/ml';
import { buildTokenizer } from '@vca/world';
import { textWeightsFor } from './text-weights.util';
import { createDiffusionTrainer, diffusionBatcher, exportModelFamily, worldTokenizer, type ModelFamilyConfig, type TrainerHyper } from '../src';

export const WARM_START_BATCH = 4;
export const WARM_START_HYPER: TrainerHyper = { lr: 3e-3, steps: 10, warmupSteps: 0, emaDecay: 0.9, threads: 1, seed: 8 };

/**
 * The "before" side of a warm-start test: a tiny UNet trained three steps under `config` and
 * exported to `dir`. Returns the still-open trainer (the caller releases it), the batcher and RNG
 * it used, and the frozen text weights a second trainer needs.
 */
export async function trainBrieflyAndExport(config: ModelFamilyConfig, dir: string): Promise<{ trainer: Trainer; batch: ReturnType<typeof diffusionBatcher>; rng: Rng; frozen: Map<string, TensorData> }> {
  const tok = buildTokenizer();
  const tokenizer = worldTokenizer();
  const text = await textWeightsFor(config, tokenizer, tok.vocabSize, WARM_START_BATCH, WARM_START_HYPER);
  const trainer = await createDiffusionTrainer(config, tokenizer, tok.vocabSize, WARM_START_BATCH, WARM_START_HYPER, text.frozen);
  const batch = diffusionBatcher({ config, seed: 8, batch: WARM_START_BATCH, tokenizer });
  const rng = new Rng(4);
  for (let s = 0; s < 3; s++) await trainer.trainStep(batch(s, rng));
  exportModelFamily(dir, { config, vocabSize: tok.vocabSize, maxLength: tok.maxLength, diffusionWeights: trainer.weights('current'), dualWeights: text.dual, parserWeights: text.parser, training: {} });
  return { trainer, batch, rng, frozen: text.frozen };
}
