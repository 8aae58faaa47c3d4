import * as ort from 'onnxruntime-node';
import { Trainer, type Rng } from '@vca/ml';
import { createRng, deriveSeed, SceneRenderer } from '@vca/world';
import type { ClipTokenizer } from '@vca/diffusion';
import { buildDualTrainingGraph, type DualEncoderDims } from '../graphs/dual-encoder.graph';
import type { ModelFamilyConfig } from '../model-family.config';
import { promptFor, renderBatch, sceneFor, tokenBatch } from '../data/scene-data.util';
import { stageTrainerConfig, type TrainerHyper } from './trainer-hyper.util';

export function dualDims(c: ModelFamilyConfig, vocabSize: number, maxLength: number): DualEncoderDims {
  return {
    imageSize: c.imageSize,
    imageChannels: c.dual.imageChannels,
    embedDim: c.dual.embedDim,
    text: { vocabSize, maxLength, hidden: c.dual.textHidden, layers: c.dual.textLayers, heads: c.dual.heads, mlpRatio: 2 },
  };
}

/** Batches of (rendered scene, paraphrased caption) pairs; scenes and captions depend only on (seed, step). */
export function dualBatcher(c: ModelFamilyConfig, seed: number, batch: number, tokenizer: ClipTokenizer): (step: number, rng: Rng) => Record<string, ort.Tensor> {
  const renderer = new SceneRenderer({ size: c.imageSize });
  return (step) => {
    const scenes = Array.from({ length: batch }, (_, i) => sceneFor(seed, 'dual', step * batch + i, 'train'));
    const words = createRng(deriveSeed(seed, 'dual-prompt', step));
    // Mostly full captions (retrieval is between whole-scene captions); some partial ones so the
    // text tower also embeds the prompts users actually write.
    const prompts = scenes.map((s) => promptFor(s, words).prompt);
    return {
      pixel_values: new ort.Tensor('float32', renderBatch(renderer, scenes), [batch, 3, c.imageSize, c.imageSize]),
      input_ids: new ort.Tensor('int64', tokenBatch(tokenizer, prompts), [batch, tokenizer.maxLength]),
    };
  };
}

export async function createDualTrainer(c: ModelFamilyConfig, tokenizer: ClipTokenizer, vocabSize: number, batch: number, h: TrainerHyper): Promise<Trainer> {
  const { graph, loss } = buildDualTrainingGraph(dualDims(c, vocabSize, tokenizer.maxLength), batch, h.seed);
  return Trainer.create({
    graph,
    loss,
    trainable: /(\.(weight|bias)|^logit_scale)$/,
    inputShapes: { pixel_values: [batch, 3, c.imageSize, c.imageSize], input_ids: [batch, tokenizer.maxLength] },
    // An in-batch contrastive loss: no data-parallel replicas.
    config: stageTrainerConfig(h),
  });
}
