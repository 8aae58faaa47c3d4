import { z } from 'zod';

/**
 * Sizes of every member of the default model family. Frozen at construction and written next
 * to the weights (model_family.json) so an export can be rebuilt and checked from its config.
 */
export const ModelFamilyConfigSchema = z.object({
  /** Image side in pixels (the scene world renders 64×64). */
  imageSize: z.number().int().min(16).multipleOf(8).default(64),
  /** Pixel-unshuffle factor of the VAE: latent side = imageSize / vaeFactor, channels = 3·f². */
  vaeFactor: z.number().int().min(1).default(4),
  /**
   * Where the diffusion text encoder comes from: `dual` = the dual encoder's text tower (token
   * states before pooling), trained contrastively first and frozen while the UNet trains; `joint`
   * = its own transformer trained through the UNet. Measured here: trained jointly, the encoder +
   * UNet still ignored the prompt after 2,500 steps (loss with the right prompt = with a shuffled
   * one), while the contrastive tower reached 95% retrieval in 700 steps. `parser` (the default)
   * = a transformer trained with supervision from the caption grammar to read each prompt into
   * grounding tokens (one per shape and one for the background: what is named, colour, size, grid
   * cell), which the UNet rasterises into a layout map (CondUNetDims.grounding) and attends to.
   * Measured here: the frozen dual tower's states gave the UNet the right background colour at
   * t = 999 for 12/40 prompts after 49,000 steps; the parser reads prompts exactly (tested).
   */
  textEncoder: z.enum(['parser', 'dual', 'joint']).default('parser'),
  /** Share of training samples drawn from the noisiest 20% of timesteps, where only the prompt can say what to draw. */
  highNoiseShare: z.number().min(0).max(1).default(0.35),
  /** Share of training samples drawn from the least noisy 15% of timesteps (where the sampler's last steps draw edges). */
  lowNoiseShare: z.number().min(0).max(1).default(0.3),
  text: z
    .object({
      /** Width of the token states, also the UNet's cross-attention context width. */
      hidden: z.number().int().positive().default(64),
      layers: z.number().int().positive().default(2),
      heads: z.number().int().positive().default(4),
      mlpRatio: z.number().int().positive().default(2),
    })
    .default({ hidden: 64, layers: 2, heads: 4, mlpRatio: 2 }),
  parser: z
    .object({
      hidden: z.number().int().positive().default(64),
      layers: z.number().int().positive().default(2),
      heads: z.number().int().positive().default(4),
      readoutHidden: z.number().int().positive().default(128),
    })
    .default({ hidden: 64, layers: 2, heads: 4, readoutHidden: 128 }),
  unet: z
    .object({
      channels: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([64, 96]),
      heads: z.number().int().positive().default(4),
      groups: z.number().int().positive().default(16),
      sinusoidDim: z.number().int().positive().default(64),
      timeEmbedDim: z.number().int().positive().default(256),
      /** GroupNorm + SiLU before the output conv (see CondUNetDims.outNorm). */
      outNorm: z.boolean().default(true),
      /** Zero-initialised linear 1×1 path from the residual stream to the output (see CondUNetDims.outSkip). */
      outSkip: z.boolean().default(false),
      /** Learned per-channel c_skip(t) · x_t added to the output (see CondUNetDims.inputSkip). */
      inputSkip: z.boolean().default(true),
      /** Channels of the grounding layout map (used when the text encoder is the parser). */
      groundingChannels: z.number().int().positive().default(64),
      /**
       * The layout prior (CondUNetDims.grounding.layout; parser text encoder only): the grounding
       * tokens drawn as an expected image — each named shape's silhouette at its named size and
       * cell, in its named colour, on the named background — fed to the UNet so it refines a
       * sketch instead of inventing silhouettes. Measured here: without it, after 39,000 steps the
       * UNet placed and coloured objects right but drew 487 of 500 held-out prompts with a wrong
       * shape (21.0% right); with it, 84.6% (MODEL.md).
       */
      layoutPrior: z.boolean().default(true),
    })
    .default({ channels: [64, 96], heads: 4, groups: 16, sinusoidDim: 64, timeEmbedDim: 256, outNorm: true, outSkip: false, inputSkip: true, groundingChannels: 64, layoutPrior: true }),
  dual: z
    .object({
      /** Channels of the image tower's four stride-2 stages. */
      imageChannels: z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()]).default([32, 64, 96, 64]),
      textHidden: z.number().int().positive().default(64),
      textLayers: z.number().int().positive().default(2),
      heads: z.number().int().positive().default(4),
      embedDim: z.number().int().positive().default(128),
    })
    .default({ imageChannels: [32, 64, 96, 64], textHidden: 64, textLayers: 2, heads: 4, embedDim: 128 }),
  /**
   * Noise schedule: the cosine schedule (Nichol & Dhariwal 2021, eq. 17; diffusers
   * `squaredcos_cap_v2`), made for 32–64 px images. Its terminal ᾱ is ≈ 0, so sampling from pure
   * noise matches training (SD's scaled_linear leaves ≈ 7% of the signal at t = T, which leaks
   * the background colour in training). The UNet predicts x₀ ("sample"), which is well defined at
   * zero SNR (ε-prediction is not). Measured here: after 300 steps a v-prediction UNet had learnt
   * the layout but not the noise (v-MSE ≈ 1 at t ≤ 200), so DDIM baked its noise into the image;
   * an x₀-parametrised UNet that is still under-trained errs towards smooth images instead, and the
   * oracle judges flat colour regions. (Same loss in x₀ space, see diffusionBatcher.)
   */
  schedule: z
    .object({
      numTrainTimesteps: z.number().int().positive().default(1000),
      predictionType: z.enum(['epsilon', 'v_prediction', 'sample']).default('sample'),
      /**
       * Shift s of the cosine schedule's SNR, SNR'(t) = SNR(t)/s² ("shifted schedule", Hoogeboom
       * et al. 2023, simple diffusion, §3.1, for images whose pixels are highly redundant). Flat
       * colour regions stay readable from x_t down to SNR ≈ 1e-3, so without a shift only the last
       * ~2% of timesteps need the prompt and the UNet learnt to ignore it (measured: equal loss
       * with right and shuffled prompts after 3,000 steps). Shipped as `trained_betas`.
       */
      shift: z.number().min(1).default(6),
    })
    .default({ numTrainTimesteps: 1000, predictionType: 'sample', shift: 6 }),
  /** Latent scale (diffusers' `scaling_factor`): ≈ 1/std of pixel-unshuffled scene images, so latents have unit variance. */
  scalingFactor: z.number().positive().default(1.6),
});
export type ModelFamilyConfig = z.output<typeof ModelFamilyConfigSchema>;
export type ModelFamilyConfigInput = z.input<typeof ModelFamilyConfigSchema>;

/** A minute-scale configuration for tests and smoke runs (same graphs, narrower). */
export const TINY_CONFIG: ModelFamilyConfigInput = {
  imageSize: 64,
  vaeFactor: 8,
  text: { hidden: 16, layers: 1, heads: 2, mlpRatio: 2 },
  parser: { hidden: 16, layers: 1, heads: 2, readoutHidden: 16 },
  unet: { channels: [16, 16], heads: 2, groups: 8, sinusoidDim: 16, timeEmbedDim: 32, groundingChannels: 8 },
  dual: { imageChannels: [8, 8, 8, 8], textHidden: 16, textLayers: 1, heads: 2, embedDim: 16 },
};

export function latentShape(c: ModelFamilyConfig): { channels: number; size: number } {
  return { channels: 3 * c.vaeFactor * c.vaeFactor, size: c.imageSize / c.vaeFactor };
}
