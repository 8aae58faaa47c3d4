import 'reflect-metadata';
import { exitOnConfigError, gpuServerEnv } from '@vca/shared';
import { createGpuServerApp } from './app.factory';
import { loadDiffusionImageGenerator } from './model/diffusion-image.generator';

/** `npm run start:gpu-server`: configured by the environment (see GpuServerEnvSchema). */
async function main(): Promise<void> {
  const config = exitOnConfigError(() => gpuServerEnv.get());
  const app = await createGpuServerApp({ config, loadGenerator: loadDiffusionImageGenerator });
  await app.listen(config.PORT, config.HOST);
}

void main().catch((err: Error) => {
  process.stderr.write(`gpu-server failed to start: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
