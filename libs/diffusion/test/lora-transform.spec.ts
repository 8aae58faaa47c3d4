import { GraphBuilder, encodeModel, encodeSafetensors } from '@vca/ml';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DiffusionModelError, LoraAdapter, addRuntimeLoraInputs, attentionProjectionPath, float32ToHalf, halfToFloat32 } from '../src';

describe('attention projection discovery', () => {
  it('by torch.onnx node name or by module-named weight', () => {
    expect(attentionProjectionPath('/mid_block/attentions.0/transformer_blocks.0/attn2/to_out.0/MatMul', 'onnx::MatMul_9')).toBe('mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0');
    expect(attentionProjectionPath('MatMul_12', 'down1.attn.self.q.weight')).toBe('down1.attn.self.q');
    expect(attentionProjectionPath('MatMul_12', 'up1.attn.cross.out.weight')).toBe('up1.attn.cross.out');
    expect(attentionProjectionPath('/down_blocks.0/attentions.0/proj_in/MatMul', 'onnx::MatMul_3')).toBeNull();
    expect(attentionProjectionPath('MatMul_1', 'blk.ff.weight')).toBeNull();
  });

  it('rewrites Y = XW into Y = XW + (XD)U and leaves other MatMuls alone', async () => {
    const g = new GraphBuilder('t');
    g.input('x', 'float32', ['b', 3]);
    const w = g.initializer('blk.self.q.weight', Float32Array.from([1, 0, 0, 1, 1, 1]), [3, 2]);
    const ff = g.initializer('blk.ff.weight', Float32Array.from([1, 2]), [2, 1]);
    g.op('MatMul', [g.matmul('x', w), ff], {}, 'y');
    g.output('y', 'float32', ['b', 1]);
    const { model, targets } = addRuntimeLoraInputs(encodeModel(g.build()).model);
    expect(targets).toEqual([{ path: 'blk.self.q', downInput: 'lora_down.blk.self.q', upInput: 'lora_up.blk.self.q', inDim: 3, outDim: 2, dtype: 'float32' }]);
    const s = await ort.InferenceSession.create(model);
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]);
    const none = await s.run({ x, 'lora_down.blk.self.q': new ort.Tensor('float32', new Float32Array(0), [3, 0]), 'lora_up.blk.self.q': new ort.Tensor('float32', new Float32Array(0), [0, 2]) });
    // xW = [1+3, 2+3] = [4, 5]; y = 4 + 2·5 = 14
    expect(Array.from(none['y']!.data as Float32Array)).toEqual([14]);
    // D = [1,1,1]ᵀ (rank 1), U = [1, 0]: xW + (x·D)·U = [4 + 6, 5]; y = 10 + 10 = 20
    const withLora = await s.run({ x, 'lora_down.blk.self.q': new ort.Tensor('float32', Float32Array.from([1, 1, 1]), [3, 1]), 'lora_up.blk.self.q': new ort.Tensor('float32', Float32Array.from([1, 0]), [1, 2]) });
    expect(Array.from(withLora['y']!.data as Float32Array)).toEqual([20]);
    await s.release();
  });
});

describe('float16', () => {
  it('float32 → half rounds to nearest even and round-trips representable values', () => {
    const values = Float32Array.of(0, -0, 1, -2, 0.5, 65504, 70000, 1e-8, 2 ** -24, 1 + 2 ** -11, 1 + 3 * 2 ** -11, Infinity);
    expect(Array.from(float32ToHalf(values), (h) => h.toString(16))).toEqual(['0', '8000', '3c00', 'c000', '3800', '7bff', '7c00', '0', '1', '3c00', '3c02', '7c00']);
    const halves = Uint16Array.from({ length: 0x7c00 }, (_, i) => i);
    expect(Array.from(float32ToHalf(halfToFloat32(halves)))).toEqual(Array.from(halves));
  });

  it('fp16 projections get fp16 LoRA inputs', async () => {
    const g = new GraphBuilder('t');
    g.input('x', 'float16', ['b', 3]);
    const w = g.initializer('blk.self.q.weight', float32ToHalf(Float32Array.from([1, 0, 0, 1, 1, 1])), [3, 2], 'float16');
    g.op('MatMul', ['x', w], {}, 'y');
    g.output('y', 'float16', ['b', 2]);
    const { model, targets } = addRuntimeLoraInputs(encodeModel(g.build()).model);
    expect(targets[0]!.dtype).toBe('float16');
    const s = await ort.InferenceSession.create(model);
    const h = (v: number[], dims: number[]) => new ort.Tensor('float16', float32ToHalf(Float32Array.from(v)), dims);
    const r = await s.run({ x: h([1, 2, 3], [1, 3]), 'lora_down.blk.self.q': h([1, 1, 1], [3, 1]), 'lora_up.blk.self.q': h([1, 0], [1, 2]) });
    expect(Array.from(halfToFloat32(r['y']!.data as Uint16Array))).toEqual([10, 5]);
    await s.release();
  });
});

describe(LoraAdapter.name, () => {
  const t = (dims: number[], fill = 0.5) => ({ dtype: 'float32' as const, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill) });

  it('reads PEFT, older diffusers and kohya names into module paths', () => {
    const a = LoraAdapter.fromSafetensors(
      encodeSafetensors({
        'base_model.model.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.default.weight': t([2, 4]),
        'base_model.model.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.default.weight': t([4, 2]),
        'down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.down.weight': t([1, 4]),
        'down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.up.weight': t([4, 1]),
        'unet.up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_v.lora.down.weight': t([3, 4, 1, 1]),
        'unet.up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_v.lora.up.weight': t([4, 3, 1, 1]),
        'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight': t([2, 8]),
        'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight': t([4, 2]),
        'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.alpha': { dtype: 'float32', dims: [], data: Float32Array.of(1) },
      }),
    );
    expect([...a.modules.keys()].sort()).toEqual([
      'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0',
      'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k',
      'mid_block.attentions.0.transformer_blocks.0.attn1.to_q',
      'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_v',
    ]);
    expect(a.modules.get('lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k')).toMatchObject({ naming: 'kohya', rank: 2, inDim: 8, outDim: 4, alpha: 1 });
    expect(a.modules.get('up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_v')).toMatchObject({ rank: 3, inDim: 4, outDim: 4 });
  });

  it('reads float16 weights', () => {
    // 0x3c00 = 1, 0xc000 = −2, 0x3555 ≈ 0.333
    expect(Array.from(halfToFloat32(Uint16Array.of(0x3c00, 0xc000, 0x0000)))).toEqual([1, -2, 0]);
    expect(halfToFloat32(Uint16Array.of(0x3555))[0]).toBeCloseTo(1 / 3, 3);
    const half = (dims: number[]) => ({ dtype: 'float16' as const, dims, data: new Uint16Array(dims[0]! * dims[1]!).fill(0x3c00) });
    const a = LoraAdapter.fromSafetensors(encodeSafetensors({ 'x.attn1.to_q.lora_A.weight': half([1, 2]), 'x.attn1.to_q.lora_B.weight': half([2, 1]) }));
    expect(Array.from(a.modules.get('x.attn1.to_q')!.down)).toEqual([1, 1]);
  });

  it('errors clearly on non-LoRA tensors and half-pairs', () => {
    expect(() => LoraAdapter.fromSafetensors(encodeSafetensors({ 'model.diffusion_model.weight': t([2, 2]) }), 'ckpt')).toThrow(/ckpt: 1 tensor name\(s\) are not LoRA weights.*model\.diffusion_model\.weight/);
    expect(() => LoraAdapter.fromSafetensors(encodeSafetensors({ 'a.to_q.lora_A.weight': t([2, 2]) }), 'half')).toThrow(/a\.to_q has no up \(B\) matrix/);
    expect(() => LoraAdapter.fromSafetensors(new Uint8Array(3))).toThrow(DiffusionModelError);
  });
});
