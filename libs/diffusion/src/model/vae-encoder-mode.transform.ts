import { onnx } from 'onnx-proto';
import { externalLocationsOf } from './rewritten-model.util';

const RANDOM_OPS = new Set(['RandomNormal', 'RandomNormalLike']);

/**
 * VAE encoders exported from `vae.encode(x).latent_dist.sample()` (diffusers'
 * convert_stable_diffusion_checkpoint_to_onnx.py) draw z = μ + σ·N(0, 1) inside the graph with
 * an unseeded RandomNormalLike, which would make img2img irreproducible. Each draw is replaced
 * by zeros of the same shape and type (x − x for RandomNormalLike(x); ConstantOfShape for
 * RandomNormal), so the encoder returns μ (diffusers' `latent_dist.mode()`) and the candidate's
 * own seeded noise enters through the scheduler's add_noise. (Setting `scale` to 0 is not an
 * option: ONNX Runtime asserts σ > 0 and aborts the process.)
 * Returns null when the graph has no random op (a cheap byte scan avoids decoding most models).
 */
export function vaeEncoderToMode(modelBytes: Uint8Array): { model: Uint8Array; externalLocations: string[]; replaced: number } | null {
  if (Buffer.from(modelBytes.buffer, modelBytes.byteOffset, modelBytes.byteLength).indexOf('RandomNormal') < 0) return null;
  const model = onnx.ModelProto.decode(modelBytes);
  let replaced = 0;
  const A = onnx.AttributeProto.AttributeType;
  const nodes: onnx.INodeProto[] = [];
  for (const node of model.graph?.node ?? []) {
    nodes.push(node);
    if (!RANDOM_OPS.has(node.opType ?? '')) continue;
    const attr = (name: string) => node.attribute?.find((a) => a.name === name);
    const dtype = attr('dtype')?.i;
    if (node.opType === 'RandomNormalLike' && dtype == null) {
      node.opType = 'Sub';
      node.input = [node.input![0]!, node.input![0]!];
      node.attribute = [];
    } else {
      const shape = node.opType === 'RandomNormal' ? (attr('shape')?.ints ?? []) : null;
      if (!shape) continue; // RandomNormalLike with an explicit dtype: left as is (not seen in SD exports)
      node.opType = 'ConstantOfShape';
      node.input = [];
      node.attribute = [];
      // ConstantOfShape takes its shape as an input; a Constant node supplies it.
      const shapeName = `${node.output![0]}/shape`;
      nodes.splice(nodes.length - 1, 0, {
        name: `${node.name ?? 'random'}/shape`,
        opType: 'Constant',
        input: [],
        output: [shapeName],
        attribute: [{ name: 'value', type: A.TENSOR, t: { dataType: onnx.TensorProto.DataType.INT64, dims: [shape.length], int64Data: shape } }],
      });
      node.input = [shapeName];
      node.attribute = [{ name: 'value', type: A.TENSOR, t: { dataType: Number(dtype ?? onnx.TensorProto.DataType.FLOAT), dims: [1], rawData: new Uint8Array(dtype === onnx.TensorProto.DataType.FLOAT16 ? 2 : 4) } }];
    }
    replaced++;
  }
  if (!replaced) return null;
  model.graph!.node = nodes;
  return { model: onnx.ModelProto.encode(model).finish(), externalLocations: externalLocationsOf(model.graph?.initializer ?? []), replaced };
}
