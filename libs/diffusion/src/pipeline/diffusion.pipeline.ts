import { performance } from 'node:perf_hooks';
import type * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { LoraAdapter } from '../lora/lora-adapter';
import { RuntimeLora, type LoraApplication } from '../lora/runtime-lora';
import { DiffusionModelError } from '../model/diffusion-model.error';
import { RuntimeConfigSchema } from '../model/onnx-session.factory';
import { StableDiffusionModel } from '../model/stable-diffusion.model';
import { encodePng, decodePng } from '../png/png-image.codec';
import { createCandidateStates } from './candidate-state';
import { buildUnetBatch, guidedPrediction } from './cfg-batch.util';
import { GenerateRequestSchema, type GenerateRequest, type GenerateResult, type GeneratedCandidateImage } from './generate-request.schema';
import { pngTextChunks } from './png-parameters.util';

export const PipelineOptionsSchema = RuntimeConfigSchema.extend({
  /** Rewrite the UNet so LoRA adapters are run-time inputs (rank 0 when none is asked for). */
  runtimeLora: z.boolean().default(true),
});
export type PipelineOptions = z.input<typeof PipelineOptionsSchema>;

/**
 * Text-to-image and img2img for Stable-Diffusion ONNX models, with classifier-free guidance,
 * N seeded candidates, per-candidate img2img strength and run-time LoRA.
 *
 * Candidates with different strengths share one timestep grid: strength s starts at index
 * t_start(s) of the same descending schedule, so at every step the active candidates sit at the
 * same timestep and run as one UNet batch ([uncond × k ‖ cond × k] with CFG).
 */
export class DiffusionPipeline {
  private constructor(
    readonly model: StableDiffusionModel,
    readonly lora: RuntimeLora | null,
  ) {}

  static async load(modelDir: string, options: PipelineOptions = {}): Promise<DiffusionPipeline> {
    const o = PipelineOptionsSchema.parse(options);
    let lora: RuntimeLora | null = null;
    try {
      const model = await StableDiffusionModel.load(modelDir, o, {
        prepareUnet: o.runtimeLora
          ? (path) => {
              lora = RuntimeLora.prepare(path);
              if (!lora) process.emitWarning(`${path}: no attention projections (…/attn1/to_q/MatMul or *.to_q.weight) found; run-time LoRA is off for this model`);
              return lora?.unetPath ?? path;
            }
          : undefined,
      });
      return new DiffusionPipeline(model, lora);
    } catch (err) {
      (lora as RuntimeLora | null)?.dispose();
      throw err;
    }
  }

  /** Reads a LoRA safetensors file and checks it against this UNet (throws on unmatched names). */
  loadLora(path: string, name?: string): LoraAdapter {
    if (!this.lora) throw new DiffusionModelError('UNSUPPORTED_CONFIG', 'run-time LoRA is off for this pipeline (runtimeLora: false, or no attention projections found in the UNet)');
    const adapter = LoraAdapter.load(path, name);
    this.lora.bind(adapter);
    return adapter;
  }

  async generate(input: GenerateRequest): Promise<GenerateResult> {
    const req = GenerateRequestSchema.parse(input);
    const t0 = performance.now();
    const signal = req.signal;
    const checkAbort = () => {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('generation cancelled', 'AbortError');
    };
    checkAbort();
    const m = this.model;
    const C = m.latentChannels;
    const { h: lh, w: lw } = m.latentShapeFor(req.width, req.height);
    const [width, height] = [lw * m.vaeScaleFactor, lh * m.vaeScaleFactor];
    const plane = C * lh * lw;
    const cfg = req.guidanceScale > 1;
    const loraApps = req.loras as unknown as LoraApplication[];
    if (loraApps.length && !this.lora) throw new DiffusionModelError('UNSUPPORTED_CONFIG', 'LoRA requested but run-time LoRA is off for this pipeline');
    const loraFeeds: Record<string, ort.Tensor> = this.lora ? this.lora.feeds(loraApps) : {};

    // 1. Text embeddings: [uncond (negative prompt), cond].
    let t = performance.now();
    const text = await m.encodeText(cfg ? [req.negativePrompt, req.prompt] : [req.prompt]);
    const textEncoderMs = performance.now() - t;
    const [, L, D] = text.dims as [number, number, number];

    // 2. Initial latents per candidate.
    let vaeEncoderMs = 0;
    let initLatent: Float32Array | null = null;
    if (req.initImage) {
      t = performance.now();
      const img = decodePng(req.initImage, { width, height });
      initLatent = (await m.encode(img.data, [1, 3, height, width])).data;
      vaeEncoderMs = performance.now() - t;
    }
    const states = createCandidateStates(req.candidates, { scheduler: req.scheduler, schedulerConfig: m.schedulerConfig, steps: req.steps, latentLength: plane, initLatent });

    // 3. Denoising loop over the shared grid: active candidates share the timestep, one UNet batch.
    const timesteps = states[0]!.scheduler.timesteps;
    const first = Math.min(...states.map((st) => st.start));
    const total = req.steps - first;
    let unetMs = 0;
    let unetCalls = 0;
    for (let i = first; i < req.steps; i++) {
      checkAbort();
      const timestep = timesteps[i]!;
      const active = states.filter((st) => st.start <= i);
      const { sample, context, batch } = buildUnetBatch(active, timestep, cfg, text.data, L * D);
      t = performance.now();
      const out = await m.predict(sample, [batch, C, lh, lw], timestep, { data: context, dims: [batch, L, D] }, loraFeeds);
      unetMs += performance.now() - t;
      unetCalls++;
      active.forEach((st, j) => {
        const pred = guidedPrediction(out, j, active.length, plane, cfg, req.guidanceScale);
        st.latents = st.scheduler.step(pred, timestep, st.latents, st.noise).prevSample;
      });
      req.onProgress?.(i - first + 1, total);
    }
    checkAbort();

    // 4. Decode all candidates in one VAE batch and write PNGs.
    t = performance.now();
    const all = new Float32Array(states.length * plane);
    states.forEach((st, j) => all.set(st.latents, j * plane));
    const decoded = await m.decode(all, [states.length, C, lh, lw]);
    const vaeDecoderMs = performance.now() - t;
    const [, , H, W] = decoded.dims as [number, number, number, number];
    const images: GeneratedCandidateImage[] = states.map((st, j) => ({
      index: st.index,
      seed: st.seed,
      strength: st.strength,
      width: W,
      height: H,
      latent: st.latents,
      png: encodePng(
        decoded.data.subarray(j * 3 * H * W, (j + 1) * 3 * H * W),
        W,
        H,
        pngTextChunks({
          prompt: req.prompt,
          negativePrompt: req.negativePrompt,
          steps: req.steps,
          scheduler: req.scheduler,
          guidanceScale: req.guidanceScale,
          seed: st.seed,
          width: W,
          height: H,
          strength: initLatent ? st.strength : undefined,
          model: req.modelName,
          loras: loraApps.map((a) => ({ name: a.lora.name, scale: a.scale })),
        }),
      ),
    }));
    const totalMs = performance.now() - t0;
    return {
      images,
      timings: {
        totalMs,
        textEncoderMs,
        vaeEncoderMs,
        unetMs,
        unetCalls,
        unetStepMs: unetCalls ? unetMs / unetCalls : 0,
        vaeDecoderMs,
        imageMs: totalMs / images.length,
        outsideUnetShare: totalMs > 0 ? 1 - unetMs / totalMs : 0,
      },
    };
  }

  /** Releases the ONNX Runtime sessions and the rewritten UNet file. */
  async dispose(): Promise<void> {
    await this.model.dispose();
    this.lora?.dispose();
  }
}
