import * as ort from 'onnxruntime-node';
import { GraphBuilder, Layers, Rng, Trainer, type Graph, type TensorData } from '@vca/ml';
import { createRng, deriveSeed, SceneRenderer } from '@vca/world';
import type { ClipTokenizer } from '@vca/diffusion';
import { condUNetLayers, type CondUNetDims } from '../graphs/cond-unet.graph';
import { textEncoderLayers, type TextEncoderDims } from '../graphs/text-encoder.graph';
import { GROUNDING_CELLS_OFFSET, GROUNDING_DIM, GROUP_OFFSET, groundingTokens, PARSER_SLOTS, promptParserLogits, type PromptParserDims } from '../graphs/prompt-parser.graph';
import { pixelUnshuffle } from '../graphs/pixel-shuffle-vae.graph';
import { latentShape, type ModelFamilyConfig } from '../model-family.config';
import { promptFor, renderBatch, sceneFor, tokenBatch } from '../data/scene-data.util';
import { trainingAlphasCumprod } from './noise-schedule.util';
import { stageTrainerConfig, type TrainerHyper } from './trainer-hyper.util';

/** Dimensions of the diffusion text encoder (the dual encoder's text tower when `textEncoder` is `dual`). */
export function textDims(c: ModelFamilyConfig, vocabSize: number, maxLength: number): TextEncoderDims {
  if (c.textEncoder === 'parser') return parserDims(c, vocabSize, maxLength);
  if (c.textEncoder === 'dual') return { vocabSize, maxLength, hidden: c.dual.textHidden, layers: c.dual.textLayers, heads: c.dual.heads, mlpRatio: 2 };
  return { vocabSize, maxLength, ...c.text };
}

export function parserDims(c: ModelFamilyConfig, vocabSize: number, maxLength: number): PromptParserDims {
  return { vocabSize, maxLength, hidden: c.parser.hidden, layers: c.parser.layers, heads: c.parser.heads, mlpRatio: 2, readoutHidden: c.parser.readoutHidden };
}

/** Weight-name prefix of the diffusion text encoder. */
export function textPrefix(c: ModelFamilyConfig): string {
  return c.textEncoder === 'parser' ? 'parser' : c.textEncoder === 'dual' ? 'dual_text' : 'text';
}

export function unetDims(c: ModelFamilyConfig, maxLength: number): CondUNetDims {
  const { channels, size } = latentShape(c);
  const { groundingChannels, layoutPrior, ...unet } = c.unet;
  if (c.textEncoder === 'parser') {
    const M = PARSER_SLOTS.length;
    const layout = layoutPrior
      ? { namedOffset: M + GROUP_OFFSET.present + 1, colorOffset: M + GROUP_OFFSET.color, sizeOffset: M + GROUP_OFFSET.size, shapes: M - 1, imageSize: c.imageSize, factor: c.vaeFactor, scalingFactor: c.scalingFactor }
      : undefined;
    const grounding = { cellsOffset: GROUNDING_CELLS_OFFSET, grid: 3, channels: groundingChannels, layout };
    return { latentChannels: channels, latentSize: size, ...unet, contextLen: PARSER_SLOTS.length, contextDim: GROUNDING_DIM, grounding };
  }
  const contextDim = c.textEncoder === 'dual' ? c.dual.textHidden : c.text.hidden;
  return { latentChannels: channels, latentSize: size, ...unet, contextLen: maxLength, contextDim };
}

/** The diffusion conditioning emitted into a graph: grounding tokens from the parser, or the text encoder's token states. */
export function textConditionLayers(l: Layers, c: ModelFamilyConfig, inputIds: string, vocabSize: number, maxLength: number): string {
  if (c.textEncoder === 'parser') return groundingTokens(l.g, promptParserLogits(l, inputIds, parserDims(c, vocabSize, maxLength)));
  return textEncoderLayers(l, textPrefix(c), inputIds, textDims(c, vocabSize, maxLength));
}

/**
 * Joint training graph: input_ids → text encoder → token states → UNet(noisy latent, t) → prediction,
 * loss = mean w_t·‖prediction − target‖² (target and w_t: see diffusionBatcher). The text encoder learns through the UNet's cross-attention (as Imagen's
 * and LDM's conditioners can), so its states carry exactly what the denoiser needs.
 */
export interface DiffusionGraphOptions {
  /**
   * Let the layout prior pick open places from the clean target instead of x_t (teacher forcing,
   * see condUNetLayers); x₀ prediction only. Default true. Off, training computes exactly the
   * exported UNet's function (the train/inference consistency test runs that way).
   */
  teacherForcedPlaces?: boolean;
}

export function buildDiffusionTrainingGraph(c: ModelFamilyConfig, vocabSize: number, maxLength: number, batch: number, seed: number, o: DiffusionGraphOptions = {}): { graph: Graph; loss: string } {
  const g = new GraphBuilder('diffusion_train');
  const l = new Layers(g, new Rng(seed));
  const u = unetDims(c, maxLength);
  const S = u.latentSize;
  const ids = g.input('input_ids', 'int64', [batch, maxLength]);
  const sample = g.input('sample', 'float32', [batch, u.latentChannels, S, S]);
  const timestep = g.input('timestep', 'float32', [batch]);
  const target = g.input('target', 'float32', [batch, u.latentChannels, S, S]);
  const weight = g.input('weight', 'float32', [batch, 1, 1, 1]);
  const context = textConditionLayers(l, c, ids, vocabSize, maxLength);
  const forced = (o.teacherForcedPlaces ?? true) && c.schedule.predictionType === 'sample';
  const pred = condUNetLayers(l, sample, timestep, context, u, forced ? target : sample);
  const d = g.sub(pred, target);
  g.op('ReduceMean', [g.mul(g.mul(d, d), weight)], { keepdims: 0 }, 'loss');
  g.output('loss', 'float32', []);
  return { graph: g.build(), loss: 'loss' };
}

const MIN_SNR_GAMMA = 5;

export interface DiffusionBatchOptions {
  config: ModelFamilyConfig;
  seed: number;
  batch: number;
  tokenizer: ClipTokenizer;
  /** Share of prompts replaced by "" so the model also learns p(x) for classifier-free guidance (Ho & Salimans 2022). */
  uncondRate?: number;
}

/**
 * Batches of (prompt ids, x_t, t, target) with the forward process q(x_t|x_0) (Ho et al. 2020, eq. 4):
 *   x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε; target x_0 ("sample"), ε, or v = √ᾱ_t·ε − √(1−ᾱ_t)·x_0
 *   (Salimans & Ho 2022, §4), as the config's prediction type says.
 * Scenes and prompts depend only on (seed, step), noise and t on the checkpointed Rng, so a
 * resumed run sees exactly the batches an uninterrupted one would.
 * Each sample is weighted after Min-SNR-γ (Hang et al. 2023, "Efficient Diffusion Training via
 * Min-SNR Weighting Strategy", §3.4), stated in x₀ space: ‖ẑ₀ − z₀‖² = ‖v̂ − v‖²/(SNR_t + 1) =
 * ‖ε̂ − ε‖²/SNR_t, so an x₀-weight λ_t is a v-weight λ_t/(SNR_t + 1) and an ε-weight λ_t/SNR_t. We use λ_t = min(SNR_t, γ) + 1, SNR_t = ᾱ_t/(1 − ᾱ_t), γ = 5
 * [our design decision]: the paper's λ_t = min(SNR_t, γ) clamps the nearly noise-free steps
 * (the paper reports ≈ 3× faster convergence), and the +1 keeps full weight at SNR ≈ 0, where
 * the layout and colours named by the prompt are decided.
 */
export function diffusionBatcher(o: DiffusionBatchOptions): (step: number, rng: Rng) => Record<string, ort.Tensor> {
  const c = o.config;
  const renderer = new SceneRenderer({ size: c.imageSize });
  const { channels: C, size: S } = latentShape(c);
  const abar = trainingAlphasCumprod(c);
  const T = c.schedule.numTrainTimesteps;
  const per = C * S * S;
  const uncond = o.uncondRate ?? 0.1;
  const pred = c.schedule.predictionType;
  return (step, rng) => {
    const scenes = Array.from({ length: o.batch }, (_, i) => sceneFor(o.seed, 'diffusion', step * o.batch + i, 'train'));
    const words = createRng(deriveSeed(o.seed, 'diffusion-prompt', step));
    const prompts = scenes.map((s) => (words.chance(uncond) ? '' : promptFor(s, words).prompt));
    const pixels = renderBatch(renderer, scenes);
    const x0 = new Float32Array(o.batch * per);
    const px = 3 * c.imageSize * c.imageSize;
    for (let i = 0; i < o.batch; i++) pixelUnshuffle(pixels.subarray(i * px, (i + 1) * px), c.imageSize, c.vaeFactor, x0, i * per);
    const xt = new Float32Array(o.batch * per);
    const target = new Float32Array(o.batch * per);
    const ts = new Float32Array(o.batch);
    const w = new Float32Array(o.batch);
    const highFrom = Math.floor(0.8 * T);
    const lowTo = Math.floor(0.15 * T);
    for (let i = 0; i < o.batch; i++) {
      // Flat regions make the image recoverable from x_t down to very low SNR, so only the
      // noisiest steps teach the prompt; half the samples are drawn there (our design decision).
      // A further share comes from the 20 sampler steps' low-noise end (t below the 3rd-lowest
      // trailing timestep), where shape edges are drawn and the UNet must keep what x_t shows.
      const u = rng.next();
      const t = u < c.highNoiseShare ? highFrom + rng.int(T - highFrom) : u < c.highNoiseShare + c.lowNoiseShare ? rng.int(lowTo) : rng.int(T);
      ts[i] = t;
      const snr = abar[t]! / Math.max(1 - abar[t]!, 1e-12);
      const lambda = Math.min(snr, MIN_SNR_GAMMA) + 1;
      w[i] = pred === 'sample' ? lambda : pred === 'v_prediction' ? lambda / (snr + 1) : lambda / Math.max(snr, 1e-3);
      const a = Math.sqrt(abar[t]!);
      const b = Math.sqrt(1 - abar[t]!);
      for (let j = i * per; j < (i + 1) * per; j++) {
        const z0 = x0[j]! * c.scalingFactor;
        const eps = rng.normal();
        xt[j] = a * z0 + b * eps;
        target[j] = pred === 'sample' ? z0 : pred === 'v_prediction' ? a * eps - b * z0 : eps;
      }
    }
    return {
      input_ids: new ort.Tensor('int64', tokenBatch(o.tokenizer, prompts), [o.batch, o.tokenizer.maxLength]),
      sample: new ort.Tensor('float32', xt, [o.batch, C, S, S]),
      timestep: new ort.Tensor('float32', ts, [o.batch]),
      target: new ort.Tensor('float32', target, [o.batch, C, S, S]),
      weight: new ort.Tensor('float32', w, [o.batch, 1, 1, 1]),
    };
  };
}

/**
 * `frozenText`: weights of a trained text encoder (the dual tower) written into the graph and kept
 * frozen; without it (or with `textEncoder: joint`) the text encoder trains with the UNet.
 */
export async function createDiffusionTrainer(c: ModelFamilyConfig, tokenizer: ClipTokenizer, vocabSize: number, batch: number, h: TrainerHyper, frozenText?: ReadonlyMap<string, TensorData>, o: DiffusionGraphOptions = {}): Promise<Trainer> {
  const { graph, loss } = buildDiffusionTrainingGraph(c, vocabSize, tokenizer.maxLength, batch, h.seed, o);
  const prefix = `${textPrefix(c)}.`;
  if (frozenText) for (const [k, t] of frozenText) if (k.startsWith(prefix) && graph.initializers.has(k)) graph.initializers.set(k, t);
  const { channels: C, size: S } = latentShape(c);
  return Trainer.create({
    graph,
    loss,
    trainable: frozenText ? new RegExp(`^(?!${prefix.replace('.', '\\.')}).*\\.(weight|bias)$`) : /\.(weight|bias)$/,
    inputShapes: { input_ids: [batch, tokenizer.maxLength], sample: [batch, C, S, S], timestep: [batch], target: [batch, C, S, S], weight: [batch, 1, 1, 1] },
    config: stageTrainerConfig(h, h.replicas ?? 1),
  });
}
