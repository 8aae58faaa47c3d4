/**
 * The users of `npm run bench:chat`, on their own thread: THREADS web-chat threads of ROUNDS
 * rounds each, driven through the bot's HTTP API with fetch. Running them off the bot's event
 * loop keeps the clients' own work (HTTP client, JSON) out of the bot's measured overhead, as with
 * real users on other machines. The parent thread tells it when a round completed or failed.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { RoundView, ThreadDetail } from '../../src/chat/round-view';

/**
 * How people pace a conversation: thread starts spread evenly over `rampMs`, and a think time
 * drawn uniformly from [0, thinkMs] between seeing a round's images and answering. Zero for
 * both is the lockstep stress case (every user sends at the same instant).
 */
export interface Pacing {
  rampMs: number;
  thinkMs: number;
  seed: number;
}

export interface ChatLoadData {
  baseUrl: string;
  feedback: string[];
}
export type ToChatLoad =
  | { type: 'run'; threads: number; rounds: number; pacing: Pacing }
  | { type: 'finished'; roundId: string; failure: string | null };
export type FromChatLoad = { type: 'ran'; rounds: number; http: number[] } | { type: 'error'; message: string };

const { baseUrl, feedback } = workerData as ChatLoadData;
const port = parentPort!;
const finished = new Map<string, string | null>();
const waiting = new Map<string, (failure: string | null) => void>();
let http: number[] = [];

port.on('message', (msg: ToChatLoad) => {
  if (msg.type === 'finished') {
    const done = waiting.get(msg.roundId);
    if (done) {
      waiting.delete(msg.roundId);
      done(msg.failure);
    } else finished.set(msg.roundId, msg.failure); // the result came before the HTTP reply naming it
    return;
  }
  http = [];
  const random = mulberry32(msg.pacing.seed);
  const pause = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
  const pacing = { start: (n: number) => pause((msg.pacing.rampMs * n) / msg.threads), think: () => pause(random() * msg.pacing.thinkMs) };
  Promise.all(Array.from({ length: msg.threads }, (_, n) => thread(n, msg.rounds, pacing)))
    .then((counts) => port.postMessage({ type: 'ran', rounds: counts.reduce((a, b) => a + b, 0), http } satisfies FromChatLoad))
    .catch((err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FromChatLoad));
});

async function thread(n: number, rounds: number, pacing: { start(n: number): Promise<unknown>; think(): Promise<unknown> }): Promise<number> {
  const user = `bench-user-${n}-${randomUUID()}`;
  await pacing.start(n);
  const started = await post<ThreadDetail>('/api/threads', user, { prompt: `a small house number ${n} by a lake` });
  let roundId = started.rounds[0]!.id;
  for (let r = 1; ; r++) {
    const failure = await completion(roundId);
    if (failure !== null) throw new Error(`round ${roundId} failed: ${failure}`);
    if (r === rounds) return r;
    await pacing.think();
    const next = await post<RoundView>(`/api/threads/${started.id}/messages`, user, { text: feedback[(n + r) % feedback.length] });
    roundId = next.id;
  }
}

function completion(roundId: string): Promise<string | null> {
  return new Promise((done) => {
    if (finished.has(roundId)) {
      const failure = finished.get(roundId)!;
      finished.delete(roundId);
      done(failure);
    } else waiting.set(roundId, done);
  });
}

async function post<T>(path: string, user: string, body: unknown): Promise<T> {
  const t0 = performance.now();
  const res = await fetch(baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-vca-user': user },
    body: JSON.stringify(body),
  });
  http.push(performance.now() - t0);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A small seeded generator (mulberry32), so every run paces its users the same way. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
