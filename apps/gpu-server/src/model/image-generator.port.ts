/**
 * The diffusion runtime as the GPU server sees it: the jobs know nothing of ONNX or of the
 * pipeline's own types, and the adapter (`diffusion-image.generator.ts`) knows nothing of queues.
 */
export const IMAGE_GENERATOR_LOADER = Symbol('IMAGE_GENERATOR_LOADER');

export interface CandidateRequest {
  seed: number;
  /** img2img strength; ignored without an init image. */
  strength: number;
}

/** A LoRA adapter to apply at run time: its model-version id, safetensors file and scale. */
export interface LoraRequest {
  versionId: string;
  path: string;
  scale: number;
}

export interface GenerationRequest {
  prompt: string;
  negativePrompt: string;
  candidates: CandidateRequest[];
  steps: number;
  guidanceScale: number;
  scheduler: 'ddim' | 'euler_a' | 'dpmpp_2m';
  /** PNG bytes of the kept image (img2img); null for text-to-image. */
  initImagePng: Uint8Array | null;
  loras: LoraRequest[];
}

export interface GeneratedPng {
  index: number;
  seed: number;
  /** Effective strength: 1 for text-to-image. */
  strength: number;
  width: number;
  height: number;
  png: Uint8Array;
}

export interface ModelInfo {
  /** Stable id of the loaded weights, stored on every image row. */
  version: string;
  dir: string;
  width: number;
  height: number;
  schedulers: string[];
  provider: string;
}

export interface ImageGenerator {
  readonly info: ModelInfo;
  /** Runs every candidate of a round; `onProgress(done, total)` after each denoising step. */
  generate(request: GenerationRequest, onProgress?: (done: number, total: number) => void): Promise<GeneratedPng[]>;
  dispose(): Promise<void>;
}

export interface ImageGeneratorLoadOptions {
  dir: string;
  provider: 'cpu' | 'cuda';
  intraOpThreads: number;
}

export type ImageGeneratorLoader = (opts: ImageGeneratorLoadOptions) => Promise<ImageGenerator>;
