import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { BotConfig } from './bot-config.schema';

/** Injection token of the validated, frozen configuration. */
export const BOT_CONFIG = Symbol('BOT_CONFIG');

/** Provides the configuration parsed once at boot (main.ts or a test) to every module. */
@Global()
@Module({})
export class BotConfigModule {
  static forRoot(config: BotConfig): DynamicModule {
    return { module: BotConfigModule, providers: [{ provide: BOT_CONFIG, useValue: Object.freeze({ ...config }) }], exports: [BOT_CONFIG] };
  }
}
