import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { z } from 'zod';
import { parseSchedulerConfig, SchedulerConfigError, type SchedulerConfig } from '../schedulers/scheduler-config.schema';
import { runInBatchChunks } from '../tensor/batch-chunks.util';
import { floatTensor, readFloat } from '../tensor/float-tensor.util';
import { ClipTokenizer } from '../tokenizer/clip.tokenizer';
import { DiffusionModelError } from './diffusion-model.error';
import { ModelIndexSchema, UnetConfigSchema, VaeConfigSchema } from './model-configs.schema';
import { OnnxComponent, type ComponentContract } from './onnx-component';
import { RuntimeConfigSchema, type RuntimeConfig } from './onnx-session.factory';
import { writeRewrittenModel, type RewrittenModelFile } from './rewritten-model.util';
import { vaeEncoderToMode } from './vae-encoder-mode.transform';

/** Input/output names and ranks of the diffusers/optimum ONNX exports. */
export const SD_CONTRACTS = {
  text_encoder: { inputs: { input_ids: 2 }, outputs: { hidden: { names: ['last_hidden_state'], rank: 3 } } },
  unet: { inputs: { sample: 4, encoder_hidden_states: 3 }, outputs: { noise: { names: ['out_sample'], rank: 4 } } },
  vae_decoder: { inputs: { latent_sample: 4 }, outputs: { image: { names: ['sample'], rank: 4 } } },
  // Newer optimum exports return the distribution's parameters (mean ‖ logvar) instead of a sample.
  vae_encoder: { inputs: { sample: 4 }, outputs: { latent: { names: ['latent_sample', 'latent_parameters'], rank: 4 } } },
} satisfies Record<string, ComponentContract>;

export interface ModelLoadHooks {
  /** Replaces the UNet file before it is opened (run-time LoRA rewrites the graph). */
  prepareUnet?: (unetPath: string) => Promise<string> | string;
}

/**
 * A Stable Diffusion model loaded from a diffusers/optimum ONNX directory: tokenizer, scheduler
 * config, and one reused ONNX Runtime session per component. Knows nothing of sampling loops
 * (the pipeline owns the loop, as in diffusers).
 */
export class StableDiffusionModel {
  private constructor(
    readonly dir: string,
    readonly tokenizer: ClipTokenizer,
    readonly schedulerConfig: SchedulerConfig,
    readonly textEncoder: OnnxComponent,
    readonly unet: OnnxComponent,
    readonly vaeDecoder: OnnxComponent,
    readonly vaeEncoder: OnnxComponent | null,
    readonly vaeScalingFactor: number,
    readonly latentChannels: number,
    /** Latent side (UNet sample_size), and the VAE factor between latent and image pixels. */
    readonly latentSize: number,
    readonly vaeScaleFactor: number,
    /** Temporary rewritten component files (deterministic VAE encoder), removed on dispose. */
    private readonly rewritten: readonly RewrittenModelFile[] = [],
    /** The guidance scale the model ships as its recommendation (model_index.json), if any. */
    readonly recommendedGuidance?: number,
  ) {}

  get imageSize(): number {
    return this.latentSize * this.vaeScaleFactor;
  }

  /**
   * Latent height and width for an image size: the image must be a multiple of the VAE factor,
   * and equal to the UNet's input size where the export fixes it (dynamic exports take any).
   */
  latentShapeFor(width = this.imageSize, height = this.imageSize): { h: number; w: number } {
    const f = this.vaeScaleFactor;
    if (!Number.isInteger(width / f) || !Number.isInteger(height / f)) throw new RangeError(`width and height must be multiples of ${f}, got ${width}×${height}`);
    const h = height / f;
    const w = width / f;
    const fixedH = this.unet.fixedDim('sample', 2);
    const fixedW = this.unet.fixedDim('sample', 3);
    if ((fixedH !== undefined && fixedH !== h) || (fixedW !== undefined && fixedW !== w)) {
      throw new RangeError(`this export only generates ${(fixedW ?? w) * f}×${(fixedH ?? h) * f} images, asked for ${width}×${height}`);
    }
    return { h, w };
  }

  get textHidden(): number | undefined {
    return this.textEncoder.fixedDim('last_hidden_state', 2, 'output');
  }

  static async load(dir: string, runtimeInput: RuntimeConfig = {}, hooks: ModelLoadHooks = {}): Promise<StableDiffusionModel> {
    const runtime: z.output<typeof RuntimeConfigSchema> = RuntimeConfigSchema.parse(runtimeInput);
    const need = (rel: string) => {
      const p = join(dir, rel);
      if (!existsSync(p)) throw new DiffusionModelError('MISSING_FILE', `${dir}: missing ${rel} (expected the diffusers/optimum ONNX layout)`);
      return p;
    };
    const index = parseJson(need('model_index.json'), ModelIndexSchema);
    let schedulerConfig: SchedulerConfig;
    try {
      schedulerConfig = parseSchedulerConfig(JSON.parse(readFileSync(need('scheduler/scheduler_config.json'), 'utf8')));
    } catch (err) {
      if (err instanceof SchedulerConfigError || err instanceof SyntaxError) throw new DiffusionModelError('UNSUPPORTED_CONFIG', `scheduler/scheduler_config.json: ${err.message}`);
      throw err;
    }
    const vaeConfigPath = join(dir, 'vae_decoder', 'config.json');
    const vaeConfig = existsSync(vaeConfigPath) ? parseJson(vaeConfigPath, VaeConfigSchema) : VaeConfigSchema.parse({});
    const unetConfigPath = join(dir, 'unet', 'config.json');
    const unetConfig = existsSync(unetConfigPath) ? parseJson(unetConfigPath, UnetConfigSchema) : UnetConfigSchema.parse({});
    need('tokenizer');

    const unetFile = need('unet/model.onnx');
    const opened: OnnxComponent[] = [];
    const rewritten: RewrittenModelFile[] = [];
    const open = async (label: string, path: string, contract: ComponentContract) => {
      const c = await OnnxComponent.open(label, path, contract, runtime);
      opened.push(c);
      return c;
    };
    try {
      const textEncoder = await open('text_encoder', need('text_encoder/model.onnx'), SD_CONTRACTS.text_encoder);
      const unet = await open('unet', await (hooks.prepareUnet?.(unetFile) ?? unetFile), SD_CONTRACTS.unet);
      const vaeDecoder = await open('vae_decoder', need('vae_decoder/model.onnx'), SD_CONTRACTS.vae_decoder);
      const encPath = join(dir, 'vae_encoder', 'model.onnx');
      let vaeEncoder: OnnxComponent | null = null;
      if (existsSync(encPath)) {
        const mode = vaeEncoderToMode(readFileSync(encPath));
        if (mode) rewritten.push(writeRewrittenModel(encPath, mode.model, mode.externalLocations));
        vaeEncoder = await open('vae_encoder', mode ? rewritten.at(-1)!.path : encPath, SD_CONTRACTS.vae_encoder);
      }
      if (!unet.inputs.has('timestep')) throw new DiffusionModelError('WRONG_SHAPE', `unet: expected input "timestep"`);

      // Cross-component shape checks: text width = cross-attention width, latent channels agree.
      const mismatch = (what: string, a: number | undefined, b: number | undefined) => {
        if (a !== undefined && b !== undefined && a !== b) throw new DiffusionModelError('WRONG_SHAPE', `${what}: ${a} vs ${b}`);
      };
      mismatch('text_encoder last_hidden_state width vs unet encoder_hidden_states width', textEncoder.fixedDim('last_hidden_state', 2, 'output'), unet.fixedDim('encoder_hidden_states', 2));
      const latentChannels = unet.fixedDim('sample', 1) ?? vaeConfig.latent_channels ?? 4;
      mismatch('unet sample channels vs vae_decoder latent_sample channels', latentChannels, vaeDecoder.fixedDim('latent_sample', 1));
      mismatch('unet sample channels vs out_sample channels', latentChannels, unet.fixedDim('out_sample', 1, 'output'));
      mismatch('unet sample channels vs vae_decoder config latent_channels', latentChannels, vaeConfig.latent_channels);
      const latentSize = unet.fixedDim('sample', 2) ?? unetConfig.sample_size ?? 64;

      const tokenizer = ClipTokenizer.load(join(dir, 'tokenizer'), { maxLength: textEncoder.fixedDim('input_ids', 1) });
      return new StableDiffusionModel(
        dir,
        tokenizer,
        schedulerConfig,
        textEncoder,
        unet,
        vaeDecoder,
        vaeEncoder,
        vaeConfig.scaling_factor,
        latentChannels,
        latentSize,
        2 ** (vaeConfig.block_out_channels.length - 1),
        rewritten,
        index._vca_guidance_scale,
      );
    } catch (err) {
      await Promise.all(opened.map((c) => c.dispose()));
      rewritten.forEach((f) => f.dispose());
      throw err;
    }
  }

  /** Text embeddings [B, L, D] of the prompts (CLIP last hidden state). */
  async encodeText(prompts: readonly string[]): Promise<{ data: Float32Array; dims: number[] }> {
    const fixed = this.textEncoder.fixedDim('input_ids', 0);
    if (fixed && fixed !== prompts.length) {
      // Static-batch export: encode in groups of its batch size, padding with the last prompt.
      const parts: { data: Float32Array; dims: number[] }[] = [];
      for (let i = 0; i < prompts.length; i += fixed) {
        const group = prompts.slice(i, i + fixed);
        const r = await this.encodeText([...group, ...new Array<string>(fixed - group.length).fill(group.at(-1)!)]);
        const item = r.data.length / fixed;
        parts.push({ data: r.data.subarray(0, group.length * item), dims: [group.length, ...r.dims.slice(1)] });
      }
      const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
      parts.reduce((offset, p) => (data.set(p.data, offset), offset + p.data.length), 0);
      return { data, dims: [prompts.length, ...parts[0]!.dims.slice(1)] };
    }
    const L = this.tokenizer.maxLength;
    const ids = prompts.flatMap((p) => this.tokenizer.encode(p));
    const type = this.textEncoder.input('input_ids').type;
    const tensor =
      type === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [prompts.length, L])
        : new ort.Tensor('int32', Int32Array.from(ids), [prompts.length, L]);
    const out = (await this.textEncoder.run({ input_ids: tensor }))[this.textEncoder.outputNames['hidden']!]!;
    return { data: readFloat(out, 'text_encoder last_hidden_state'), dims: [...out.dims] };
  }

  /** One UNet evaluation: ε̂ (or v̂) for a batch of latents at one timestep. */
  async predict(sample: Float32Array, sampleDims: number[], timestep: number, context: { data: Float32Array; dims: number[] }, extraFeeds: Record<string, ort.Tensor> = {}): Promise<Float32Array> {
    const batch = sampleDims[0]!;
    const fixed = this.unet.fixedDim('sample', 0);
    if (fixed && fixed !== batch) {
      const itemLength = sample.length / batch;
      return runInBatchChunks(batch, fixed, [sample, context.data], async ([x, c]) => ({
        data: await this.predict(x!, [fixed, ...sampleDims.slice(1)], timestep, { data: c!, dims: [fixed, ...context.dims.slice(1)] }, extraFeeds),
        itemLength,
      }));
    }
    const spec = this.unet.input('timestep');
    const tLen = spec.shape.length === 0 ? 0 : spec.shape[0] === 1 ? 1 : batch;
    const tDims = spec.shape.length === 0 ? [] : [tLen];
    const tCount = Math.max(tLen, 1);
    // Exports differ: int64 (optimum), float32 (diffusers' script) or float16 (fp16 exports).
    const t =
      spec.type === 'int64'
        ? new ort.Tensor('int64', new BigInt64Array(tCount).fill(BigInt(Math.round(timestep))), tDims)
        : spec.type === 'int32'
          ? new ort.Tensor('int32', new Int32Array(tCount).fill(Math.round(timestep)), tDims)
          : floatTensor(spec.type, new Float32Array(tCount).fill(timestep), tDims, 'unet timestep');
    const out = await this.unet.run({
      sample: floatTensor(this.unet.input('sample').type, sample, sampleDims, 'unet sample'),
      timestep: t,
      encoder_hidden_states: floatTensor(this.unet.input('encoder_hidden_states').type, context.data, context.dims, 'unet encoder_hidden_states'),
      ...extraFeeds,
    });
    return readFloat(out[this.unet.outputNames['noise']!]!, 'unet out_sample');
  }

  /** Latents in UNet space (× scaling factor) → images in [−1, 1], [B, 3, H, W]. */
  async decode(latents: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
    const fixed = this.vaeDecoder.fixedDim('latent_sample', 0);
    if (fixed && fixed !== dims[0]) {
      let outDims: number[] = [];
      const data = await runInBatchChunks(dims[0]!, fixed, [latents], async ([x]) => {
        const r = await this.decode(x!, [fixed, ...dims.slice(1)]);
        outDims = [dims[0]!, ...r.dims.slice(1)];
        return { data: r.data, itemLength: r.data.length / fixed };
      });
      return { data, dims: outDims };
    }
    const scaled = latents.map((v) => v / this.vaeScalingFactor);
    const input = floatTensor(this.vaeDecoder.input('latent_sample').type, scaled, dims, 'vae_decoder latent_sample');
    const out = (await this.vaeDecoder.run({ latent_sample: input }))[this.vaeDecoder.outputNames['image']!]!;
    return { data: readFloat(out, 'vae_decoder sample'), dims: [...out.dims] };
  }

  /** Images in [−1, 1], [B, 3, H, W] → latents × scaling factor (the latent mean for *_parameters exports). */
  async encode(pixels: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
    if (!this.vaeEncoder) throw new DiffusionModelError('MISSING_FILE', `${this.dir}: img2img needs vae_encoder/model.onnx`);
    const fixed = this.vaeEncoder.fixedDim('sample', 0);
    if (fixed && fixed !== dims[0]) {
      let outDims: number[] = [];
      const data = await runInBatchChunks(dims[0]!, fixed, [pixels], async ([x]) => {
        const r = await this.encode(x!, [fixed, ...dims.slice(1)]);
        outDims = [dims[0]!, ...r.dims.slice(1)];
        return { data: r.data, itemLength: r.data.length / fixed };
      });
      return { data, dims: outDims };
    }
    const input = floatTensor(this.vaeEncoder.input('sample').type, pixels, dims, 'vae_encoder sample');
    const out = (await this.vaeEncoder.run({ sample: input }))[this.vaeEncoder.outputNames['latent']!]!;
    let data = readFloat(out, 'vae_encoder output');
    const outDims = [...out.dims];
    if (outDims[1] === 2 * this.latentChannels) {
      // latent_parameters = mean ‖ logvar along channels: keep the mean.
      const [b, c2, h, w] = outDims as [number, number, number, number];
      const plane = (c2 / 2) * h * w;
      const mean = new Float32Array(b * plane);
      for (let i = 0; i < b; i++) mean.set(data.subarray(i * 2 * plane, i * 2 * plane + plane), i * plane);
      data = mean;
      outDims[1] = c2 / 2;
    }
    return { data: data.map((v) => v * this.vaeScalingFactor), dims: outDims };
  }

  /** Releases every session; the model cannot be used afterwards. */
  async dispose(): Promise<void> {
    await Promise.all([this.textEncoder, this.unet, this.vaeDecoder, this.vaeEncoder].map((c) => c?.dispose()));
    this.rewritten.forEach((f) => f.dispose());
  }
}

function parseJson<T extends z.ZodType>(path: string, schema: T): z.output<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DiffusionModelError('UNSUPPORTED_CONFIG', `${path}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new DiffusionModelError('UNSUPPORTED_CONFIG', `${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
