import * as ort from 'onnxruntime-node';
import { Trainer, type Rng } from '@vca/ml';
import { createRng, deriveSeed } from '@vca/world';
import type { ClipTokenizer } from '@vca/diffusion';
import { buildPromptParserTrainingGraph, LABEL_DIM, PARSER_SLOTS } from '../graphs/prompt-parser.graph';
import type { ModelFamilyConfig } from '../model-family.config';
import { promptFor, sceneFor, tokenBatch } from '../data/scene-data.util';
import { parserLabels } from '../data/parser-labels.util';
import { parserDims } from './diffusion.stage';
import { stageTrainerConfig, type TrainerHyper } from './trainer-hyper.util';

/** Share of the parser's prompts that are empty (the CFG prompt: nothing named). */
const EMPTY_RATE = 0.05;

/**
 * Batches of (prompt ids, labels): training-split scenes, each captioned by the grammar from a
 * spec that names all or part of it (the UNet's prompt mix); labels say exactly what it names.
 */
export function parserBatcher(seed: number, batch: number, tokenizer: ClipTokenizer): (step: number, rng: Rng) => Record<string, ort.Tensor> {
  const M = PARSER_SLOTS.length;
  return (step) => {
    const words = createRng(deriveSeed(seed, 'parser-prompt', step));
    const labels = new Float32Array(batch * M * LABEL_DIM);
    const prompts = Array.from({ length: batch }, (_, i) => {
      if (words.chance(EMPTY_RATE)) {
        parserLabels({ objects: [] }, labels, i * M * LABEL_DIM);
        return '';
      }
      const { prompt, spec } = promptFor(sceneFor(seed, 'parser', step * batch + i, 'train'), words);
      parserLabels(spec, labels, i * M * LABEL_DIM);
      return prompt;
    });
    return {
      input_ids: new ort.Tensor('int64', tokenBatch(tokenizer, prompts), [batch, tokenizer.maxLength]),
      labels: new ort.Tensor('float32', labels, [batch, M, LABEL_DIM]),
    };
  };
}

export async function createParserTrainer(c: ModelFamilyConfig, tokenizer: ClipTokenizer, vocabSize: number, batch: number, h: TrainerHyper): Promise<Trainer> {
  const { graph, loss } = buildPromptParserTrainingGraph(parserDims(c, vocabSize, tokenizer.maxLength), batch, h.seed);
  return Trainer.create({
    graph,
    loss,
    trainable: /\.(weight|bias)$/,
    inputShapes: { input_ids: [batch, tokenizer.maxLength], labels: [batch, PARSER_SLOTS.length, LABEL_DIM] },
    config: stageTrainerConfig(h),
  });
}
