import { z } from 'zod';
import { GraphBuilder } from '../onnx/graph.builder';
import type { Graph } from '../onnx/graph.model';
import { Rng } from '../util/random.util';
import { attentionBlock, resBlock, unetTrunk } from './unet-blocks.factory';
import { Layers } from './layers.factory';

export const unetConfigSchema = z.object({
  inChannels: z.number().int().positive().default(4),
  /** Latent height = width. */
  size: z.number().int().positive().default(16),
  /** Channels of the two resolution levels. */
  channels: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([64, 128]),
  sinusoidDim: z.number().int().positive().default(64),
  timeEmbedDim: z.number().int().positive().default(256),
  contextLen: z.number().int().positive().default(8),
  contextDim: z.number().int().positive().default(64),
  heads: z.number().int().positive().default(4),
  groups: z.number().int().positive().default(32),
  seed: z.number().int().default(0),
});
export type UNetConfig = z.input<typeof unetConfigSchema>;

export interface UNetModel {
  graph: Graph;
  config: z.output<typeof unetConfigSchema>;
  /** Graph inputs: sample [N, C, S, S], timestep [N] (float), context [N, contextLen, contextDim]. */
  inputs: { sample: string; timestep: string; context: string };
  /** Predicted noise, shaped like the sample. */
  output: string;
  /** Every weight, in creation order. */
  parameters: string[];
}

/**
 * A small Stable-Diffusion-style UNet (the benchmark model of issue 2; ~2.31M parameters with
 * the defaults): sinusoidal timestep embedding → MLP; conv in; res(c0); stride-2 conv;
 * res(c0→c1) + attention; stride-2 conv; res(c1) + attention + res(c1); 2× nearest up, concat
 * skip, res(2c1→c1) + attention; 2× nearest up, concat skip, res(c1+c0→c0); GroupNorm, SiLU, conv out.
 * The batch dimension is symbolic.
 */
export function buildUNet(config: UNetConfig = {}): UNetModel {
  const cfg = unetConfigSchema.parse(config);
  const [c0, c1] = cfg.channels;
  const S = cfg.size;
  const g = new GraphBuilder('unet');
  const l = new Layers(g, new Rng(cfg.seed));
  const sample = g.input('sample', 'float32', ['batch', cfg.inChannels, S, S]);
  const timestep = g.input('timestep', 'float32', ['batch']);
  const context = g.input('context', 'float32', ['batch', cfg.contextLen, cfg.contextDim]);
  const ctx = { name: context, len: cfg.contextLen, dim: cfg.contextDim };
  const res = (name: string, x: string, cin: number, cout: number, size: number) =>
    resBlock(l, name, x, temb, cfg.timeEmbedDim, cin, cout, { height: size, width: size }, cfg.groups);
  const attn = (name: string, x: string, c: number, size: number) => attentionBlock(l, name, x, c, { height: size, width: size }, cfg.groups, cfg.heads, ctx);

  // Sinusoidal timestep embedding (Vaswani et al. 2017, §3.5): [sin(t·ωᵢ), cos(t·ωᵢ)], ωᵢ = 10000^(−i/half).
  const half = cfg.sinusoidDim / 2;
  const freqs = g.constant(Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half)), [1, half]);
  const phase = g.mul(g.unsqueeze(timestep, [1]), freqs);
  const sinusoid = g.concat([g.op('Sin', [phase]), g.op('Cos', [phase])], 1);
  const temb = l.linear('time.linear2', g.silu(l.linear('time.linear1', sinusoid, cfg.sinusoidDim, cfg.timeEmbedDim)), cfg.timeEmbedDim, cfg.timeEmbedDim);

  let h = l.conv('conv_in', sample, cfg.inChannels, c0, 3);
  h = unetTrunk(l, h, [c0, c1], S, res, attn);
  h = g.silu(l.groupNorm('norm_out', h, cfg.groups, [0, c0, S, S]));
  g.op('Conv', [h, l.param('conv_out.weight', [cfg.inChannels, c0, 3, 3], { std: 0.1 / Math.sqrt(c0 * 9) }), l.param('conv_out.bias', [cfg.inChannels], { fill: 0 })], { pads: [1, 1, 1, 1] }, 'noise_pred');
  g.output('noise_pred', 'float32', ['batch', cfg.inChannels, S, S]);
  const graph = g.build();
  const parameters = [...graph.initializers.keys()].filter((k) => /\.(weight|bias)$/.test(k));
  return { graph, config: cfg, inputs: { sample, timestep, context }, output: 'noise_pred', parameters };
}

/** Appends `loss = mean((prediction − target)²)` with a new graph input `target`; returns the loss name. */
export function addMseLoss(graph: Graph, prediction: string, target = 'target'): string {
  const g = new GraphBuilder(graph);
  const out = graph.outputs.find((o) => o.name === prediction);
  g.input(target, 'float32', out?.shape ?? []);
  const d = g.sub(prediction, target);
  g.op('ReduceMean', [g.mul(d, d)], { keepdims: 0 }, 'loss');
  g.output('loss', 'float32', []);
  return 'loss';
}
