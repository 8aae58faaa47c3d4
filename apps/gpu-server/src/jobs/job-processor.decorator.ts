import { DiscoveryService } from '@nestjs/core';
import type { JobDefinition } from '@vca/queue';

/**
 * Marks a provider as the handler of one job kind (twenty's `@Processor`/`@Process`, immich's
 * `OnJob`). The class implements `JobProcessor<D>`; `JobWorkersService` finds every marked
 * provider at boot and refuses to start when a declared job has none.
 */
export const JobProcessorFor = DiscoveryService.createDecorator<JobDefinition>();
