import { GraphBuilder, type Graph } from '@vca/ml';

/**
 * The family's "VAE": an exact, invertible pixel-unshuffle (Shi et al. 2016, "sub-pixel
 * convolution", read backwards). Encoder: SpaceToDepth with block f, [N,3,H,W] → [N,3f²,H/f,W/f];
 * decoder: DepthToSpace in DCR mode, its exact inverse. Chosen over a trained autoencoder because
 * (1) reconstruction is lossless, so every oracle error is the UNet's, never the codec's;
 * (2) it costs no training time on a 2-core CPU; (3) scene images are flat colour regions whose
 * pixel statistics already suit diffusion once scaled (the scale lives in `scaling_factor`).
 * Spatially dynamic, as real exports are.
 */
export function buildVaeEncoderGraph(factor: number): Graph {
  const g = new GraphBuilder('vae_encoder');
  const x = g.input('sample', 'float32', ['batch', 3, 'height', 'width']);
  g.op('SpaceToDepth', [x], { blocksize: factor }, 'latent_sample');
  g.output('latent_sample', 'float32', ['batch', 3 * factor * factor, 'latent_height', 'latent_width']);
  return g.build();
}

export function buildVaeDecoderGraph(factor: number): Graph {
  const g = new GraphBuilder('vae_decoder');
  const z = g.input('latent_sample', 'float32', ['batch', 3 * factor * factor, 'latent_height', 'latent_width']);
  g.op('DepthToSpace', [z], { blocksize: factor, mode: 'DCR' }, 'sample');
  g.output('sample', 'float32', ['batch', 3, 'height', 'width']);
  return g.build();
}

/**
 * The same transform in TypeScript for the training data path (no session per batch):
 * CHW image [3, H, W] → latent [3f², H/f, W/f] with SpaceToDepth's channel order
 * out[(by·f + bx)·3 + c, y, x] = in[c, y·f + by, x·f + bx].
 */
export function pixelUnshuffle(chw: Float32Array, size: number, f: number, out: Float32Array, offset = 0): void {
  const s = size / f;
  for (let by = 0; by < f; by++)
    for (let bx = 0; bx < f; bx++)
      for (let c = 0; c < 3; c++) {
        const oc = (by * f + bx) * 3 + c;
        for (let y = 0; y < s; y++)
          for (let x = 0; x < s; x++) out[offset + (oc * s + y) * s + x] = chw[(c * size + y * f + by) * size + x * f + bx];
      }
}
