import { Global, Module } from '@nestjs/common';
import { BotMetrics } from './bot-metrics.service';
import { MetricsController } from './metrics.controller';

/** Global so every module can count what it does without importing this one. */
@Global()
@Module({ providers: [BotMetrics], exports: [BotMetrics], controllers: [MetricsController] })
export class BotMetricsModule {}
