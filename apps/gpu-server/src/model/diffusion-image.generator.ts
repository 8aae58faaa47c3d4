import { resolve } from 'node:path';
import { DiffusionPipeline, SCHEDULER_NAMES, type LoraAdapter } from '@vca/diffusion';
import type { GenerationRequest, GeneratedPng, ImageGenerator, ImageGeneratorLoadOptions, LoraRequest, ModelInfo } from './image-generator.port';
import { modelVersionOf } from './model-version.util';

/** The ImageGenerator port on @vca/diffusion's ONNX pipeline. */
export class DiffusionImageGenerator implements ImageGenerator {
  /** Adapters read once per version: a model version's file never changes. */
  private readonly loras = new Map<string, LoraAdapter>();

  private constructor(
    private readonly pipeline: DiffusionPipeline,
    readonly info: ModelInfo,
  ) {}

  static async load(opts: ImageGeneratorLoadOptions): Promise<DiffusionImageGenerator> {
    const pipeline = await DiffusionPipeline.load(opts.dir, {
      executionProvider: opts.provider,
      threads: opts.intraOpThreads,
      // A GPU server asked for CUDA must not silently run on CPU at a hundredth of the speed.
      requireDevice: opts.provider === 'cuda',
    });
    const size = pipeline.model.imageSize;
    return new DiffusionImageGenerator(pipeline, {
      version: modelVersionOf(opts.dir),
      dir: opts.dir,
      width: size,
      height: size,
      schedulers: [...SCHEDULER_NAMES],
      provider: pipeline.model.unet.device,
    });
  }

  async generate(request: GenerationRequest, onProgress?: (done: number, total: number) => void): Promise<GeneratedPng[]> {
    const result = await this.pipeline.generate({
      prompt: request.prompt,
      negativePrompt: request.negativePrompt,
      candidates: request.candidates,
      initImage: request.initImagePng ?? undefined,
      steps: request.steps,
      guidanceScale: request.guidanceScale,
      scheduler: request.scheduler,
      loras: request.loras.map((l) => ({ lora: this.adapter(l), scale: l.scale })),
      onProgress,
      modelName: this.info.version,
    });
    return result.images.map((image) => ({
      index: image.index,
      seed: image.seed,
      strength: image.strength,
      width: image.width,
      height: image.height,
      png: image.png,
    }));
  }

  private adapter(request: LoraRequest): LoraAdapter {
    let adapter = this.loras.get(request.versionId);
    if (!adapter) {
      adapter = this.pipeline.loadLora(resolve(request.path), request.versionId);
      this.loras.set(request.versionId, adapter);
    }
    return adapter;
  }

  async dispose(): Promise<void> {
    await this.pipeline.dispose();
  }
}

export const loadDiffusionImageGenerator = (opts: ImageGeneratorLoadOptions) => DiffusionImageGenerator.load(opts);
