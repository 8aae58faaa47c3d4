import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, GpuServerEnvSchema, parseEnv } from '@vca/shared';

describe('parseEnv (gpu-server schema)', () => {
  it('defaults work with PostgreSQL and Redis on localhost', () => {
    const cfg = parseEnv('gpu-server', GpuServerEnvSchema, {});
    expect(cfg.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/vca');
    expect(cfg.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(cfg.MODEL_DIR).toBe('models/default');
    expect(cfg.MIGRATIONS_RUN).toBe(true);
    expect(cfg.ORT_PROVIDER).toBe('cpu');
  });

  it('coerces numbers and booleans; an empty value falls back to the default', () => {
    const cfg = parseEnv('gpu-server', GpuServerEnvSchema, { PORT: '8080', MIGRATIONS_RUN: 'false', MODEL_DIR: '' });
    expect(cfg.PORT).toBe(8080);
    expect(cfg.MIGRATIONS_RUN).toBe(false);
    expect(cfg.MODEL_DIR).toBe('models/default');
  });

  it('names every invalid variable', () => {
    const bad = { PORT: 'eighty', REDIS_URL: 'http://x', ORT_PROVIDER: 'tpu', MIGRATIONS_RUN: 'yes' };
    let caught: unknown;
    try {
      parseEnv('gpu-server', GpuServerEnvSchema, bad);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.issues.map((i) => i.variable).sort()).toEqual(['MIGRATIONS_RUN', 'ORT_PROVIDER', 'PORT', 'REDIS_URL']);
    expect(err.message).toMatch(/^Invalid gpu-server configuration: .*PORT: /);
  });

  it('exitOnConfigError stops the process with a one-line message naming the variable', () => {
    const script = [
      "require('@swc-node/register');",
      "const s = require('./libs/shared/src');",
      "s.exitOnConfigError(() => s.gpuServerEnv.get());",
      "console.log('unreachable');",
    ].join('');
    const res = spawnSync(process.execPath, ['-e', script], {
      cwd: `${__dirname}/../../..`,
      env: { ...process.env, JOB_LOCK_MS: '10' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(78);
    expect(res.stderr.trim()).toMatch(/^Invalid gpu-server configuration: JOB_LOCK_MS: /);
    expect(res.stdout).not.toContain('unreachable');
  });
});
