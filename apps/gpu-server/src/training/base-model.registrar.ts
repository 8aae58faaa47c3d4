import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModelVersionService } from '@vca/core';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';
import { ModelService } from '../model/model.service';

/**
 * The model_versions row (kind `base`) of the diffusion model this server loaded, registered at
 * boot (`ModelVersionService.registerBaseModel`, idempotent by the model's version name), so every
 * image row can name the base version that made it (`images.model_version_id`).
 *
 * `id` is null until registration finished, when no model loaded, or when the database refused;
 * `ready` resolves once it is settled either way (the generation worker waits for it).
 */
@Injectable()
export class BaseModelVersion implements OnApplicationBootstrap {
  private readonly logger = new Logger(BaseModelVersion.name);
  private versionId: string | null = null;
  private settle!: () => void;
  /** Resolves when registration finished (or was not possible). Never rejects. */
  readonly ready: Promise<void> = new Promise((resolve) => (this.settle = resolve));

  constructor(
    @Inject(GPU_SERVER_CONFIG) private readonly config: GpuServerConfig,
    private readonly model: ModelService,
    private readonly versions: ModelVersionService,
  ) {}

  /** The base version's id (model_versions.id), or null. */
  get id(): string | null {
    return this.versionId;
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      const info = this.model.status.info;
      if (!info) return;
      const version = await this.versions.registerBaseModel(info.version, this.config.MODEL_DIR);
      this.versionId = version.id;
      this.logger.log(`base model version ${version.name} is ${version.id}${version.active ? ' (active)' : ''}`);
    } catch (err) {
      this.logger.error(`registering the base model version failed: ${(err as Error).message}`);
    } finally {
      this.settle();
    }
  }
}
