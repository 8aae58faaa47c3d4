import type { Provider } from '@nestjs/common';
import { DiskImageStorage } from '@vca/shared';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';

/**
 * The image store. Injected as the concrete disk implementation: it is the only one today;
 * an object-store implementation of `ImageStorage` would replace this provider.
 */
export const imageStorageProvider: Provider = {
  provide: DiskImageStorage,
  inject: [GPU_SERVER_CONFIG],
  useFactory: (config: GpuServerConfig) => new DiskImageStorage(config.IMAGE_DIR),
};
