import { describe, expect, it } from 'vitest';
import { EvalArgsSchema, isShippedProtocol } from '../src/cli/eval-args.util';

describe('eval:model arguments', () => {
  it('counts only a full run at the default sampler settings as the report a model ships with', () => {
    expect(isShippedProtocol(EvalArgsSchema.parse({}))).toBe(true);
    expect(isShippedProtocol(EvalArgsSchema.parse({ threads: '2', n: '1000' }))).toBe(true);
    expect(isShippedProtocol(EvalArgsSchema.parse({ n: '60' }))).toBe(false);
    expect(isShippedProtocol(EvalArgsSchema.parse({ edits: '100' }))).toBe(false);
    expect(isShippedProtocol(EvalArgsSchema.parse({ strength: '0.5' }))).toBe(false);
    expect(isShippedProtocol(EvalArgsSchema.parse({ scheduler: 'euler_a' }))).toBe(false);
  });

  it('rejects a strength outside (0, 1] with a clear error', () => {
    expect(() => EvalArgsSchema.parse({ strength: '1.5' })).toThrow(/strength/);
  });
});
