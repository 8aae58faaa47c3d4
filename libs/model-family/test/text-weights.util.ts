import type { TensorData } from '@vca/ml';
import type { ClipTokenizer } from '@vca/diffusion';
import { createDualTrainer, createParserTrainer, type ModelFamilyConfig, type TrainerHyper } from '../src';

/**
 * Seeded (untrained) weights of the dual encoder and of the prompt parser, as the UNet stage and
 * the exporter take them: `frozen` is the set the config's diffusion text encoder reads.
 */
export async function textWeightsFor(config: ModelFamilyConfig, tokenizer: ClipTokenizer, vocabSize: number, batch: number, hyper: TrainerHyper): Promise<{ dual: Map<string, TensorData>; parser: Map<string, TensorData>; frozen: Map<string, TensorData> }> {
  const dualTrainer = await createDualTrainer(config, tokenizer, vocabSize, batch, hyper);
  const dual = dualTrainer.weights();
  await dualTrainer.release();
  const parserTrainer = await createParserTrainer(config, tokenizer, vocabSize, batch, hyper);
  const parser = parserTrainer.weights();
  await parserTrainer.release();
  return { dual, parser, frozen: config.textEncoder === 'parser' ? parser : dual };
}
