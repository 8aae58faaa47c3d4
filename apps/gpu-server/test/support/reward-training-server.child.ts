/**
 * A training-only GPU server process with the real training stages (the reward stage), configured
 * by the environment like `npm run start:gpu-server`: the reward e2e test SIGKILLs it mid-stage,
 * as the OOM killer would.
 */
import 'reflect-metadata';
import { gpuServerEnv } from '@vca/shared';
import { createGpuServerApp } from '../../src/app.factory';

async function main(): Promise<void> {
  const app = await createGpuServerApp({
    config: gpuServerEnv.get(),
    loadGenerator: async () => {
      throw new Error('a training-only worker in this test loads no diffusion model');
    },
  });
  await app.init();
  process.stdout.write('training server ready\n');
}

void main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
