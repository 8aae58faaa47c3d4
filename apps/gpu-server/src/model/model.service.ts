import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';
import { MetricsService } from '../metrics/metrics.service';
import { IMAGE_GENERATOR_LOADER, type ImageGenerator, type ImageGeneratorLoader, type ModelInfo } from './image-generator.port';

export class ModelNotLoadedError extends Error {
  constructor(reason: string) {
    super(`model not loaded: ${reason}`);
    this.name = 'ModelNotLoadedError';
  }
}

/**
 * Loads the model of MODEL_DIR once at boot. A model that fails to load does not stop the
 * server: /health reports it (so an operator sees why) and generation jobs fail and retry.
 */
@Injectable()
export class ModelService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ModelService.name);
  private generator: ImageGenerator | null = null;
  private loadError: string | null = 'loading';

  constructor(
    @Inject(GPU_SERVER_CONFIG) private readonly config: GpuServerConfig,
    @Inject(IMAGE_GENERATOR_LOADER) private readonly load: ImageGeneratorLoader,
    private readonly metrics: MetricsService,
  ) {}

  async onModuleInit(): Promise<void> {
    const started = Date.now();
    try {
      this.generator = await this.load({
        dir: this.config.MODEL_DIR,
        provider: this.config.ORT_PROVIDER,
        intraOpThreads: this.config.ORT_INTRA_OP_THREADS,
      });
      this.loadError = null;
      this.metrics.modelLoaded.set(1);
      this.logger.log(`model ${this.generator.info.version} loaded from ${this.config.MODEL_DIR} in ${Date.now() - started} ms`);
    } catch (err) {
      this.loadError = (err as Error).message;
      this.metrics.modelLoaded.set(0);
      this.logger.error(`model in ${this.config.MODEL_DIR} failed to load: ${this.loadError}`);
    }
  }

  get loaded(): boolean {
    return this.generator !== null;
  }

  get status(): { loaded: boolean; error: string | null; info: ModelInfo | null } {
    return { loaded: this.loaded, error: this.loadError, info: this.generator?.info ?? null };
  }

  /** The loaded generator; throws (and the job retries) when the model is not loaded. */
  get(): ImageGenerator {
    if (!this.generator) throw new ModelNotLoadedError(this.loadError ?? 'unknown');
    return this.generator;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.generator?.dispose();
  }
}
