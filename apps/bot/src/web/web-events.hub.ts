import { Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { BotMetrics } from '../metrics/bot-metrics.service';
import { Observable, Subject, filter, interval, map, merge, takeUntil } from 'rxjs';
import type { RoundUpdate } from '../chat/chat-adapter.interface';

/** What Nest's @Sse() writes as one `event:`/`data:` frame. */
export type SseFrame = { type: 'round'; data: RoundUpdate } | { type: 'ping'; data: { at: number } };

/**
 * Idle SSE connections are cut by proxies after about a minute; a ping every 25 s keeps them
 * open (the page ignores it). EventSource reconnects anyway, and the page re-reads the thread.
 */
const PING_MS = 25_000;

/**
 * Fan-out of round updates to the browsers watching a thread. One subject for all threads: a
 * browser watches one thread at a time, and filtering a few hundred subscribers is cheaper than
 * keeping a subject per dialogue alive and collecting it.
 */
@Injectable()
export class WebEventsHub implements OnModuleDestroy {
  private readonly updates = new Subject<RoundUpdate>();
  /** Completes every stream at shutdown, so open SSE responses end and the server can close. */
  private readonly closing = new Subject<void>();
  private watchers = 0;

  constructor(@Optional() private readonly metrics?: BotMetrics) {}

  publish(update: RoundUpdate): void {
    this.updates.next(update);
  }

  /** Updates of one dialogue as SSE frames, named `round` so the page can addEventListener it. */
  stream(dialogueId: string): Observable<SseFrame> {
    return new Observable<SseFrame>((subscriber) => {
      this.watchers += 1;
      this.metrics?.sseWatchers.set(this.watchers);
      const sub = merge(
        this.updates.pipe(
          filter((u) => u.dialogueId === dialogueId),
          map((data): SseFrame => ({ type: 'round', data })),
        ),
        interval(PING_MS).pipe(map((): SseFrame => ({ type: 'ping', data: { at: Date.now() } }))),
      )
        .pipe(takeUntil(this.closing))
        .subscribe(subscriber);
      return () => {
        this.watchers -= 1;
        this.metrics?.sseWatchers.set(this.watchers);
        sub.unsubscribe();
      };
    });
  }

  /** Every update of every thread (benchmarks, a future live admin view). */
  all(): Observable<RoundUpdate> {
    return this.updates.asObservable();
  }

  get watcherCount(): number {
    return this.watchers;
  }

  onModuleDestroy(): void {
    this.closing.next();
    this.closing.complete();
    this.updates.complete();
  }
}
