import type { GpuServerConfig } from '@vca/shared';

/** The validated, frozen environment (one object for the whole app; style anchor 6). */
export const GPU_SERVER_CONFIG = Symbol('GPU_SERVER_CONFIG');
export type { GpuServerConfig };
