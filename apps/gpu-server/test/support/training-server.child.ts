/**
 * A GPU server process (configured by the environment like `npm run start:gpu-server`) that the
 * training e2e tests SIGKILL mid-run, as the OOM killer would. Its training stages: with
 * TEST_TRAINING_STAGES=real the server's own (the reward stage), otherwise `first` (quick,
 * promotes) and `second` (hangs).
 */
import 'reflect-metadata';
import { gpuServerEnv } from '@vca/shared';
import { createGpuServerApp } from '../../src/app.factory';
import { HangingStage, QuickStage } from './test-stages.util';

async function main(): Promise<void> {
  const real = process.env['TEST_TRAINING_STAGES'] === 'real';
  const app = await createGpuServerApp({
    config: gpuServerEnv.get(),
    loadGenerator: async () => {
      throw new Error('a training-only worker in this test loads no diffusion model');
    },
    trainingStages: real ? undefined : [new QuickStage('first', 'promoted', 'trained in the killed worker'), new HangingStage('second')],
  });
  await app.init();
  process.stdout.write('training server ready\n');
}

void main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
