import { DdimScheduler } from './ddim.scheduler';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep.scheduler';
import { EulerAncestralScheduler } from './euler-ancestral.scheduler';
import type { SchedulerConfig, SchedulerConfigInput } from './scheduler-config.schema';
import { SCHEDULER_NAMES, type DiffusionScheduler, type SchedulerName } from './scheduler.interface';

/**
 * diffusers `from_config`: any scheduler is built from the model's `scheduler_config.json`
 * (its noise schedule and prediction type), whichever class the export was saved with.
 */
export function createScheduler(name: SchedulerName, config: SchedulerConfigInput | SchedulerConfig): DiffusionScheduler {
  switch (name) {
    case 'ddim':
      return new DdimScheduler(config);
    case 'euler_a':
      return new EulerAncestralScheduler(config);
    case 'dpmpp_2m':
      return new DpmSolverMultistepScheduler(config);
    default:
      throw new RangeError(`scheduler ${JSON.stringify(name)} is not supported; use one of ${SCHEDULER_NAMES.join(', ')}`);
  }
}
