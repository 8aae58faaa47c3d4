import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of the bot. A registry per app instance rather than prom-client's global
 * one, so several apps in one process (tests, the benchmark) do not collide on names.
 */
@Injectable()
export class BotMetrics {
  readonly registry = new Registry();

  /** The two bot-side spans of issue 5 (see OverheadRecorder). */
  readonly overheadSeconds = new Histogram({
    name: 'vca_bot_overhead_seconds',
    help: 'Bot-side overhead: enqueue = message received to job enqueued; post = result event to message posted.',
    labelNames: ['span'] as const,
    // Target is 20 ms p99; the tail up to seconds shows saturation.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly roundUpdates = new Counter({
    name: 'vca_bot_round_updates_total',
    help: 'Round updates handed to chat adapters, by platform and kind (queued, started, progress, completed, failed, ...).',
    labelNames: ['platform', 'kind'] as const,
    registers: [this.registry],
  });

  readonly sseWatchers = new Gauge({
    name: 'vca_bot_sse_watchers',
    help: 'Browsers currently watching a web-chat thread over SSE.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'vca_bot_' });
  }
}
