import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { resolve } from 'node:path';

// SWC instead of esbuild: NestJS dependency injection needs emitDecoratorMetadata.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: {
      '@vca/ml': resolve(__dirname, 'libs/ml/src/index.ts'),
      '@vca/diffusion': resolve(__dirname, 'libs/diffusion/src/index.ts'),
      '@vca/world': resolve(__dirname, 'libs/world/src/index.ts'),
      '@vca/shared': resolve(__dirname, 'libs/shared/src/index.ts'),
      '@vca/core': resolve(__dirname, 'libs/core/src/index.ts'),
      '@vca/queue': resolve(__dirname, 'libs/queue/src/index.ts'),
      '@vca/model-family': resolve(__dirname, 'libs/model-family/src/index.ts'),
      '@vca/reward': resolve(__dirname, 'libs/reward/src/index.ts'),
    },
  },
  test: {
    include: ['{apps,libs}/*/{src,test}/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
