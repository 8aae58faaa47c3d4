import { describe, expect, it } from 'vitest';
import { parseGenerateArgs, parseLoraArg } from '../src/cli/generate-args.util';

describe('generate CLI arguments', () => {
  it('parses the documented flags', () => {
    const a = parseGenerateArgs(['a', 'red circle', '--model', 'm', '--n', '2', '--seed', '5', '--steps', '8', '--out', 'o', '--init', 'i.png', '--strength', '0.4', '--lora', 'x.safetensors:0.8', '--lora', 'C:\\l\\y.safetensors', '--scheduler', 'euler_a']);
    expect(a).toMatchObject({ prompt: 'a red circle', model: 'm', n: 2, seed: 5, steps: 8, out: 'o', init: 'i.png', strength: 0.4, scheduler: 'euler_a' });
    expect(a.loras).toEqual([{ path: 'x.safetensors', scale: 0.8 }, { path: 'C:\\l\\y.safetensors', scale: 1 }]);
  });

  it('leaves --guidance to the model unless given (the CLI then uses its recommendation, else 7.5)', () => {
    expect(parseGenerateArgs(['p', '--model', 'm']).guidance).toBeUndefined();
    expect(parseGenerateArgs(['p', '--model', 'm', '--guidance', '4']).guidance).toBe(4);
  });

  it('defaults --model to models/default only when it exists', () => {
    expect(parseGenerateArgs(['p'], () => true).model).toBe('models/default');
    expect(() => parseGenerateArgs(['p'], () => false)).toThrow(/--model is required/);
  });

  it('rejects bad values naming the flag', () => {
    expect(() => parseGenerateArgs(['p', '--model', 'm', '--scheduler', 'pndm'])).toThrow(/--scheduler/);
    expect(() => parseGenerateArgs(['p', '--model', 'm', '--strength', '2'])).toThrow(/--strength/);
    expect(() => parseGenerateArgs(['--model', 'm'])).toThrow(/prompt is required/);
  });

  it('splits LoRA scale at the last colon', () => {
    expect(parseLoraArg('a:b.safetensors:-0.5')).toEqual({ path: 'a:b.safetensors', scale: -0.5 });
  });
});
