import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { until } from './test-env.util';

const ROOT = resolve(__dirname, '../../../..');

/**
 * A GPU server child process started from a script in this folder (configured by `env`, like
 * `npm run start:gpu-server`), for tests that SIGKILL it mid-job. Waits name what they wait for
 * and fail with the last lines the process printed.
 */
export interface ServerProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout so far. */
  output(): string;
  waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void>;
  /** SIGKILL, as the OOM killer would; resolves once it has exited. */
  kill(): Promise<void>;
}

export async function startServerProcess(script: string, env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', `apps/gpu-server/test/support/${script}`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const log: string[] = [];
  const keep = (b: Buffer) => log.push(...b.toString().split('\n').filter(Boolean).slice(-20));
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    keep(b);
  });
  child.stderr!.on('data', keep);
  const server: ServerProcess = {
    child,
    output: () => out,
    waitFor: (predicate, timeoutMs, what) =>
      until(predicate, timeoutMs, what).catch((err: Error) => {
        throw new Error(`${err.message}\n${log.slice(-20).join('\n')}`);
      }),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
  await server.waitFor(() => out.includes('training server ready'), 60_000, 'the training server');
  return server;
}
