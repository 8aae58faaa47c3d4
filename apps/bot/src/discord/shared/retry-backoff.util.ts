/**
 * Exponential backoff with full jitter for reconnecting to a chat platform
 * (AWS Architecture Blog, "Exponential Backoff And Jitter": sleep = random(0, min(cap, base·2^attempt))).
 * A floor of half the window keeps retries from hammering a platform that is down.
 */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const window = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(window / 2 + (random() * window) / 2);
}

export interface RetryLoopOptions {
  /** What is being started, for log lines ("discord", "slack"). */
  name: string;
  baseMs: number;
  capMs: number;
  log: (message: string) => void;
}

/**
 * Runs `attempt` until it succeeds or `stop()` is called, sleeping with backoff in between.
 * Never throws: a bad token or an unreachable platform is a log line, not a crash of the app.
 */
export class RetryLoop {
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(private readonly options: RetryLoopOptions) {}

  async run(attempt: () => Promise<void>): Promise<boolean> {
    for (let n = 0; !this.stopped; n++) {
      try {
        await attempt();
        return true;
      } catch (err) {
        if (this.stopped) return false;
        const delay = backoffDelayMs(n, this.options.baseMs, this.options.capMs);
        this.options.log(`${this.options.name}: could not connect (${(err as Error).message}); retrying in ${delay} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          timer.unref();
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    }
    return false;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
}
