import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { GpuServerModule, type GpuServerModuleOptions } from './gpu-server.module';

/** Builds the app (used by main.ts and by the tests): pino logs, OpenAPI at /docs, hooks. */
export async function createGpuServerApp(opts: GpuServerModuleOptions): Promise<INestApplication> {
  const app = await NestFactory.create(GpuServerModule.register(opts), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('VCA GPU server')
      .setDescription('Generation and training workers: health, models, job status, stored images.')
      .setVersion('0.1.0')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
