import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveModel, type Graph, type TensorData } from '@vca/ml';
import { writeTokenizer } from '@vca/world';
import { buildCondUNetGraph } from '../graphs/cond-unet.graph';
import { buildDualTextEncoderGraph, buildImageEncoderGraph } from '../graphs/dual-encoder.graph';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from '../graphs/pixel-shuffle-vae.graph';
import { buildTextEncoderGraph } from '../graphs/text-encoder.graph';
import { latentShape, type ModelFamilyConfig } from '../model-family.config';
import { dualDims } from '../training/dual.stage';
import { parserDims, textDims, textPrefix, unetDims } from '../training/diffusion.stage';
import { buildPromptParserGraph, GROUNDING_DIM, PARSER_GROUPS, PARSER_SLOTS } from '../graphs/prompt-parser.graph';
import { schedulerConfigOf } from '../training/noise-schedule.util';
import { RECOMMENDED_GUIDANCE } from './recommended-guidance.constant';

/** Writes trained weights into a freshly built graph; every parameter of the graph must be given. */
export function withWeights(graph: Graph, weights: ReadonlyMap<string, TensorData>): Graph {
  const missing: string[] = [];
  for (const [name, t] of graph.initializers) {
    const w = weights.get(name);
    if (w) {
      if (w.dims.join('x') !== t.dims.join('x')) throw new Error(`export: ${name} is ${w.dims.join('x')}, the graph wants ${t.dims.join('x')}`);
      graph.initializers.set(name, w);
    } else if (/(\.(weight|bias)|^logit_scale)$/.test(name)) missing.push(name);
  }
  if (missing.length) throw new Error(`export: no trained weights for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  return graph;
}

export interface ExportInput {
  config: ModelFamilyConfig;
  vocabSize: number;
  maxLength: number;
  /** Text encoder + UNet weights (joint stage); undefined leaves those graphs at their seeded init. */
  diffusionWeights?: ReadonlyMap<string, TensorData>;
  dualWeights?: ReadonlyMap<string, TensorData>;
  /** Prompt parser weights (when the config's text encoder is the parser). */
  parserWeights?: ReadonlyMap<string, TensorData>;
  /** Free-form facts for model_family.json (seed, steps, wall time, losses). */
  training: Record<string, unknown>;
}

const json = (path: string, value: unknown) => writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);

/**
 * Writes the family in the diffusers/optimum ONNX layout (what `DiffusionPipeline.load` reads):
 * model_index.json, scheduler/, tokenizer/, text_encoder/, unet/, vae_encoder/, vae_decoder/,
 * plus the dual encoder (image_encoder/, clip_text_encoder/) and model_family.json.
 */
export function exportModelFamily(dir: string, x: ExportInput): void {
  const c = x.config;
  const sub = (name: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    return join(dir, name);
  };
  mkdirSync(dir, { recursive: true });
  const { channels: C, size: S } = latentShape(c);
  const tokenizer = writeTokenizer(sub('tokenizer'));
  if (tokenizer.vocabSize !== x.vocabSize || tokenizer.maxLength !== x.maxLength) {
    throw new Error(`export: tokenizer is ${tokenizer.vocabSize} words × ${tokenizer.maxLength}, the weights were trained for ${x.vocabSize} × ${x.maxLength}`);
  }
  json(join(dir, 'model_index.json'), {
    _class_name: 'ORTStableDiffusionPipeline',
    _diffusers_version: '0.30.0',
    _vca_model_family: 'vca-scene-default',
    _vca_guidance_scale: RECOMMENDED_GUIDANCE,
    feature_extractor: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ['diffusers', 'DDIMScheduler'],
    text_encoder: ['optimum', 'ORTModelTextEncoder'],
    tokenizer: ['transformers', 'PreTrainedTokenizerFast'],
    unet: ['optimum', 'ORTModelUnet'],
    vae_decoder: ['optimum', 'ORTModelVaeDecoder'],
    vae_encoder: ['optimum', 'ORTModelVaeEncoder'],
    image_encoder: ['vca', 'DualImageEncoder'],
    clip_text_encoder: ['vca', 'DualTextEncoder'],
  });
  json(join(sub('scheduler'), 'scheduler_config.json'), schedulerConfigOf(c));

  const td = textDims(c, x.vocabSize, x.maxLength);
  if (c.textEncoder === 'parser') {
    const pd = parserDims(c, x.vocabSize, x.maxLength);
    json(join(sub('text_encoder'), 'config.json'), {
      _class_name: 'VcaPromptParser',
      source: 'trained with supervision from the caption grammar; emits grounding tokens',
      hidden_size: GROUNDING_DIM,
      encoder_hidden_size: pd.hidden,
      num_hidden_layers: pd.layers,
      num_attention_heads: pd.heads,
      max_position_embeddings: pd.maxLength,
      vocab_size: pd.vocabSize,
      slots: PARSER_SLOTS,
      groups: PARSER_GROUPS,
    });
    const pg = buildPromptParserGraph(pd);
    saveModel(join(dir, 'text_encoder', 'model.onnx'), x.parserWeights ? withWeights(pg, x.parserWeights) : pg);
  } else {
    json(join(sub('text_encoder'), 'config.json'), { _class_name: 'VcaTextEncoder', source: c.textEncoder === 'dual' ? 'dual encoder text tower (clip_text_encoder/ before pooling)' : 'trained with the UNet', hidden_size: td.hidden, num_hidden_layers: td.layers, num_attention_heads: td.heads, max_position_embeddings: td.maxLength, vocab_size: td.vocabSize });
    const te = buildTextEncoderGraph(td, textPrefix(c));
    const textWeights = c.textEncoder === 'dual' ? x.dualWeights : x.diffusionWeights;
    saveModel(join(dir, 'text_encoder', 'model.onnx'), textWeights ? withWeights(te, textWeights) : te);
  }

  const ud = unetDims(c, x.maxLength);
  json(join(sub('unet'), 'config.json'), {
    _class_name: 'UNet2DConditionModel',
    sample_size: S,
    in_channels: C,
    out_channels: C,
    cross_attention_dim: ud.contextDim,
    block_out_channels: ud.channels,
    attention_head_dim: ud.channels[1] / ud.heads,
    norm_num_groups: ud.groups,
  });
  const unet = buildCondUNetGraph(ud);
  saveModel(join(dir, 'unet', 'model.onnx'), x.diffusionWeights ? withWeights(unet, x.diffusionWeights) : unet);

  // block_out_channels only carries the down-sampling factor: 2^(len − 1) = vaeFactor.
  const vaeConfig = {
    _class_name: 'PixelUnshuffleVae',
    in_channels: 3,
    out_channels: 3,
    latent_channels: C,
    block_out_channels: Array.from({ length: Math.log2(c.vaeFactor) + 1 }, () => C),
    sample_size: c.imageSize,
    scaling_factor: c.scalingFactor,
  };
  json(join(sub('vae_encoder'), 'config.json'), vaeConfig);
  saveModel(join(dir, 'vae_encoder', 'model.onnx'), buildVaeEncoderGraph(c.vaeFactor));
  json(join(sub('vae_decoder'), 'config.json'), vaeConfig);
  saveModel(join(dir, 'vae_decoder', 'model.onnx'), buildVaeDecoderGraph(c.vaeFactor));

  const dd = dualDims(c, x.vocabSize, x.maxLength);
  const dualConfig = { _class_name: 'VcaDualEncoder', image_size: dd.imageSize, image_channels: dd.imageChannels, projection_dim: dd.embedDim, text: dd.text, logit_scale: x.dualWeights?.get('logit_scale') ? Array.from(x.dualWeights.get('logit_scale')!.data as Float32Array)[0] : Math.log(10) };
  json(join(sub('image_encoder'), 'config.json'), dualConfig);
  const ie = buildImageEncoderGraph(dd);
  saveModel(join(dir, 'image_encoder', 'model.onnx'), x.dualWeights ? withWeights(ie, x.dualWeights) : ie);
  json(join(sub('clip_text_encoder'), 'config.json'), dualConfig);
  const ct = buildDualTextEncoderGraph(dd);
  saveModel(join(dir, 'clip_text_encoder', 'model.onnx'), x.dualWeights ? withWeights(ct, x.dualWeights) : ct);

  json(join(dir, 'model_family.json'), { config: c, vocabSize: x.vocabSize, maxLength: x.maxLength, training: x.training });
}
