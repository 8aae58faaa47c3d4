import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Observable, Subject, filter, map } from 'rxjs';
import type { RoundUpdate } from '../chat/chat-adapter.interface';

/** What Nest's @Sse() writes as one `event:`/`data:` frame. */
export interface SseFrame {
  type: string;
  data: RoundUpdate;
}

/**
 * Fan-out of round updates to the browsers watching a thread. One subject for all threads: a
 * browser watches one thread at a time, and filtering a few hundred subscribers is cheaper than
 * keeping a subject per dialogue alive and collecting it.
 */
@Injectable()
export class WebEventsHub implements OnModuleDestroy {
  private readonly updates = new Subject<RoundUpdate>();
  private watchers = 0;

  publish(update: RoundUpdate): void {
    this.updates.next(update);
  }

  /** Updates of one dialogue as SSE frames, named `round` so the page can addEventListener it. */
  stream(dialogueId: string): Observable<SseFrame> {
    return new Observable<SseFrame>((subscriber) => {
      this.watchers += 1;
      const sub = this.updates
        .pipe(
          filter((u) => u.dialogueId === dialogueId),
          map((data) => ({ type: 'round', data })),
        )
        .subscribe(subscriber);
      return () => {
        this.watchers -= 1;
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
    this.updates.complete();
  }
}
