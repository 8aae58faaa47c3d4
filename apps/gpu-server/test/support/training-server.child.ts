/**
 * A GPU server process (configured by the environment like `npm run start:gpu-server`) whose
 * training stages are `first` (quick, promotes) and `second` (hangs): the training e2e test
 * SIGKILLs it mid-run, as the OOM killer would.
 */
import 'reflect-metadata';
import { gpuServerEnv } from '@vca/shared';
import { createGpuServerApp } from '../../src/app.factory';
import { HangingStage, QuickStage } from './test-stages.util';

async function main(): Promise<void> {
  const app = await createGpuServerApp({
    config: gpuServerEnv.get(),
    loadGenerator: async () => {
      throw new Error('no diffusion model in this test');
    },
    trainingStages: [new QuickStage('first', 'promoted', 'trained in the killed worker'), new HangingStage('second')],
  });
  await app.init();
  process.stdout.write('training server ready\n');
}

void main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
