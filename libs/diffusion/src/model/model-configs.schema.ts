import { z } from 'zod';

/**
 * `model_index.json`: component name → [library, class]; only its presence and shape are checked,
 * and our models' recommended classifier-free guidance scale (`_vca_guidance_scale`: a model
 * trained for a low scale washes out at the 7.5 that suits Stable Diffusion).
 */
export const ModelIndexSchema = z
  .object({ _class_name: z.string().optional(), _vca_guidance_scale: z.number().min(0).max(50).optional() })
  .catchall(z.unknown());

/** `vae_decoder/config.json` (AutoencoderKL config as optimum copies it next to the ONNX file). */
export const VaeConfigSchema = z
  .object({
    /** diffusers' default for SD 1.x/2.x; SDXL uses 0.13025. */
    scaling_factor: z.number().positive().default(0.18215),
    latent_channels: z.number().int().positive().optional(),
    /** 2^(len − 1) is the VAE's down-sampling factor (8 for SD). */
    block_out_channels: z.array(z.number().int().positive()).min(1).default([128, 256, 512, 512]),
  })
  .catchall(z.unknown());

/** `unet/config.json` (UNet2DConditionModel config). */
export const UnetConfigSchema = z
  .object({ sample_size: z.number().int().positive().optional() })
  .catchall(z.unknown());
