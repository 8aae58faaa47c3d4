import { ConfigError } from '@vca/shared';
import { describe, expect, it } from 'vitest';
import { loadBotConfig } from '../src/config/bot-config.util';

describe(loadBotConfig.name, () => {
  it('has defaults that work with PostgreSQL and Redis on localhost', () => {
    const config = loadBotConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/vca',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MIGRATIONS_RUN: true,
      CANDIDATES_PER_ROUND: 4,
    });
    expect(config.ADMIN_TOKEN).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every invalid variable', () => {
    const load = () => loadBotConfig({ PORT: 'eighty', MIGRATIONS_RUN: 'maybe', ADMIN_TOKEN: 'short', REDIS_URL: 'http://x' });
    expect(load).toThrow(ConfigError);
    for (const variable of ['PORT', 'MIGRATIONS_RUN', 'REDIS_URL', 'ADMIN_TOKEN']) expect(load).toThrow(new RegExp(`${variable}: `));
    expect(load).toThrow(/ADMIN_TOKEN: must be at least 16 characters/);
  });

  it('reads the global prompt block list, normalised, and names a term with nothing to match', () => {
    expect(loadBotConfig({}).PROMPT_BLOCKLIST).toEqual([]);
    expect(loadBotConfig({ PROMPT_BLOCKLIST: 'Gore, blood  Splatter ,' }).PROMPT_BLOCKLIST).toEqual(['gore', 'blood splatter']);
    expect(() => loadBotConfig({ PROMPT_BLOCKLIST: 'gore, ?!' })).toThrow(/PROMPT_BLOCKLIST: "\?!" needs letters or digits/);
  });

  it('takes OVERSAMPLE (best-of-K) only at or above the candidates per round', () => {
    expect(loadBotConfig({}).OVERSAMPLE).toBe(0);
    expect(loadBotConfig({ CANDIDATES_PER_ROUND: '2', OVERSAMPLE: '6' }).OVERSAMPLE).toBe(6);
    expect(() => loadBotConfig({ CANDIDATES_PER_ROUND: '4', OVERSAMPLE: '3' })).toThrow(/OVERSAMPLE: must be 0 \(off\) or at least CANDIDATES_PER_ROUND/);
  });

  it('checks the language-model refiner settings at boot', () => {
    expect(() => loadBotConfig({ REFINER_LLM_BASE_URL: 'not a url', REFINER_LLM_MODEL: 'm' })).toThrow(/REFINER_LLM_BASE_URL/);
    expect(() => loadBotConfig({ MIGRATIONS_RUN: 'false', REFINER_LLM_BASE_URL: 'http://127.0.0.1:9/v1', REFINER_LLM_MODEL: 'm' })).not.toThrow();
  });
});
