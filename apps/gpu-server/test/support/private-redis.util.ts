import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';

/**
 * A redis-server of the test's own (a free port, a temporary directory) that the test may stop
 * and restart without touching the shared one. AOF with fsync on every write, as the compose
 * file configures production: a restart keeps every acknowledged write.
 */
export class PrivateRedis {
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), await mkdtemp(join(tmpdir(), 'vca-redis-')));
    await redis.startServer();
    return redis;
  }

  get running(): boolean {
    return this.process !== null;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async startServer(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      { stdio: 'ignore' },
    );
    const client = new IORedis(this.url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    const started = Date.now();
    for (;;) {
      try {
        if (client.status !== 'ready') await client.connect().catch(() => undefined);
        if ((await client.ping()) === 'PONG') break;
      } catch {
        // still loading
      }
      if (Date.now() - started > 10_000) throw new Error('private redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    client.disconnect();
  }

  /** A clean shutdown (the AOF is flushed), as `docker compose restart redis` does. */
  async stopServer(): Promise<void> {
    const proc = this.process;
    if (!proc) return;
    const exited = new Promise((r) => proc.once('exit', r));
    spawnSync('redis-cli', ['-p', String(this.port), 'shutdown']);
    await exited;
    this.process = null;
  }

  async destroy(): Promise<void> {
    this.process?.kill('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
