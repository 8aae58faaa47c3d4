import { Injectable, Optional } from '@nestjs/common';
import { BotMetrics } from '../metrics/bot-metrics.service';

/** The two bot-side spans issue 5 asks to measure. */
export type OverheadSpan = 'enqueue' | 'post';

/**
 * Keeps the last samples of the bot's own overhead: `enqueue` = adapter event received → job
 * enqueued; `post` = result event received → message posted by the adapter. Read by
 * `npm run bench:chat`; a bounded ring so a long-running bot does not grow it.
 */
@Injectable()
export class OverheadRecorder {
  private static readonly CAPACITY = 10_000;
  private readonly samples: Record<OverheadSpan, number[]> = { enqueue: [], post: [] };

  constructor(@Optional() private readonly metrics?: BotMetrics) {}

  record(span: OverheadSpan, ms: number): void {
    this.metrics?.overheadSeconds.observe({ span }, ms / 1000);
    const list = this.samples[span];
    if (list.length >= OverheadRecorder.CAPACITY) list.shift();
    list.push(ms);
  }

  values(span?: OverheadSpan): number[] {
    return span ? [...this.samples[span]] : [...this.samples.enqueue, ...this.samples.post];
  }

  reset(): void {
    this.samples.enqueue.length = 0;
    this.samples.post.length = 0;
  }
}

/** Nearest-rank quantile (q in [0, 1]) of unsorted samples; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}
