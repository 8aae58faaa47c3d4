/**
 * The main job on one machine: the GPU server as two processes (WORKER_QUEUES=generation on
 * GPU_SERVER_PORT, WORKER_QUEUES=training on TRAINING_SERVER_PORT, default the next port) and the
 * bot (web chat, and Discord/Slack when their credentials are set), all on the embedded default
 * model, against the local PostgreSQL and Redis.
 *
 *   npm start                # runs until Ctrl-C; open the printed URL
 *   npm start -- --smoke     # starts both, runs one two-round dialogue through the web API, exits
 *
 * Both apps are started as child processes with the same environment, exactly as
 * `npm run start:gpu-server` and `npm run start:bot` would start them on separate hosts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

const root = resolve(__dirname, '..');
const smoke = process.argv.includes('--smoke');

function log(line: string): void {
  process.stdout.write(`[start] ${line}\n`);
}

/** The `vca` database is created on first start, so `npm start` works on a fresh PostgreSQL. */
async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`DATABASE_URL names an unusual database "${name}": create it yourself`);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${url.host} (DATABASE_URL): ${(err as Error).message}`);
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name}"`);
      log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

function startApp(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(root, script)], {
    cwd: root,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal ?? code}); stopping`);
      void stop(1);
    }
  });
  return child;
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not become healthy in ${timeoutMs / 1000}s: ${last}`);
}

let stopping = false;
const children: ChildProcess[] = [];
async function stop(code: number): Promise<never> {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  process.exit(code);
}

async function runSmoke(botUrl: string): Promise<void> {
  const headers = { 'content-type': 'application/json', 'x-vca-user': 'smoke-user' };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${botUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, any>>;
  };
  const waitRound = async (threadId: string, index: number) => {
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${botUrl}/api/threads/${threadId}`, { headers });
      const thread = (await res.json()) as { rounds: Array<Record<string, any>> };
      const round = thread.rounds.find((r) => r.index === index);
      if (round?.status === 'completed') return round;
      if (round?.status === 'failed') throw new Error(`round ${index} failed: ${JSON.stringify(round)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`round ${index} did not complete in time`);
  };
  const thread = await post('/api/threads', { prompt: 'a red circle on a blue background' });
  const first = await waitRound(thread.id, 1);
  log(`round 1: "${first.refinedPrompt}" → ${first.images.length} images`);
  await post(`/api/images/${first.images[0].id}/feedback`, { signal: 'pick', eventId: `smoke-${Date.now()}` });
  await post(`/api/threads/${thread.id}/messages`, { text: 'make the circle bigger' });
  const second = await waitRound(thread.id, 2);
  log(`round 2: "${second.refinedPrompt}" → ${second.images.length} images (img2img from the pick)`);
  log(`smoke run passed: ${botUrl}/#/t/${thread.id}`);
}

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The smoke run polls the API twice a second: keep the per-request log lines out of its output.
  if (smoke) env.LOG_LEVEL ??= 'warn';
  env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/vca';
  env.IMAGE_DIR ??= join(root, 'data', 'images');
  env.MODEL_DIR ??= join(root, 'models', 'default');
  const index = join(env.MODEL_DIR, 'model_index.json');
  if (!existsSync(index)) {
    throw new Error(`no model at MODEL_DIR=${env.MODEL_DIR} (model_index.json missing): run \`npm run model:train\` or point MODEL_DIR at a Stable Diffusion ONNX export`);
  }
  // The guidance scale the model recommends (the embedded one: 2.5, MODEL.md; the bot's 7.5
  // default suits Stable Diffusion exports and washes that model's colours out).
  const recommended = (JSON.parse(readFileSync(index, 'utf8')) as { _vca_guidance_scale?: unknown })._vca_guidance_scale;
  if (typeof recommended === 'number') env.GUIDANCE_SCALE ??= String(recommended);
  const botPort = Number(env.PORT ?? 3000);
  const gpuPort = Number(env.GPU_SERVER_PORT ?? 3001);
  await ensureDatabase(env.DATABASE_URL);

  const trainingPort = Number(env.TRAINING_SERVER_PORT ?? gpuPort + 1);
  // The GPU server applies pending migrations first; the bot waits for it, so they never race.
  // Two GPU-server processes, as a deployment runs them: one takes generation jobs only, the
  // other the (long, CPU/GPU-heavy) training jobs, so a nightly run never slows a chat round.
  children.push(startApp('gpu-server', 'apps/gpu-server/src/main.ts', { ...env, PORT: String(gpuPort), WORKER_QUEUES: 'generation' }));
  await waitHealthy(`http://127.0.0.1:${gpuPort}/health`, 180_000);
  children.push(
    startApp('gpu-server (training)', 'apps/gpu-server/src/main.ts', {
      ...env,
      PORT: String(trainingPort),
      WORKER_QUEUES: 'training',
      // The first server applied the migrations already.
      MIGRATIONS_RUN: 'false',
    }),
  );
  await waitHealthy(`http://127.0.0.1:${trainingPort}/health`, 180_000);
  children.push(startApp('bot', 'apps/bot/src/main.ts', { ...env, PORT: String(botPort) }));
  await waitHealthy(`http://127.0.0.1:${botPort}/health`, 120_000);
  const botUrl = `http://127.0.0.1:${botPort}`;
  log(`web chat: ${botUrl}/   GPU server: http://127.0.0.1:${gpuPort}/docs   training server: http://127.0.0.1:${trainingPort}/health   model: ${env.MODEL_DIR}`);
  if (smoke) {
    await runSmoke(botUrl);
    await stop(0);
  }
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
main().catch((err: Error) => {
  process.stderr.write(`[start] ${err.message}\n`);
  void stop(1);
});
