import { GraphBuilder, cloneGraph, type Graph } from '@vca/ml';

/**
 * Where the reward model reads an image tower (docs/learning-loop.md, "Features").
 *
 * A dual encoder is trained to match captions, and captions never name the styles a community's
 * taste is about (outline, shading, texture, tilt), so its final embedding keeps little of them:
 * measured on the scene world, a linear probe on the 128-d `image_embeds` ranks taste pairs no
 * better than chance (see README). Earlier layers still see them. So the tower is tapped at the
 * last activation of every resolution — the input of each strided convolution, and the last 4-D
 * activation before the tower flattens — and each tapped map [N, C, H, W] is summarised by its
 * per-channel spatial mean and standard deviation (first and second moments: the "style"
 * statistics of Gatys et al. 2016 / AdaIN, Huang & Belongie 2017, which are what texture, outline
 * and shading change). For a tower without 4-D activations (a ViT) only the final embedding is
 * used.
 */
export interface EncoderTaps {
  /** Tensor names tapped, shallow to deep. */
  tensors: string[];
  /** Channels of each tapped tensor (its feature block is 2 × channels wide). */
  channels: number[];
}

/** Channels of a 4-D tensor produced by a Conv, read off the Conv's weight initializer. */
function convChannels(graph: Graph, tensor: string): number | null {
  const producer = graph.nodes.find((n) => n.outputs.includes(tensor));
  if (!producer) return null;
  if (producer.op === 'Conv') return graph.initializers.get(producer.inputs[1] ?? '')?.dims[0] ?? null;
  // Element-wise activations (SiLU as x·σ(x), Relu, Sigmoid, …) keep their input's channels.
  if (['Mul', 'Relu', 'Sigmoid', 'Add', 'LeakyRelu', 'Gelu', 'Tanh'].includes(producer.op)) {
    for (const input of producer.inputs) {
      const c = convChannels(graph, input);
      if (c !== null) return c;
    }
  }
  return null;
}

/** Finds the taps of an image tower graph whose input is `pixel_values`. */
export function findEncoderTaps(graph: Graph): EncoderTaps {
  const pixels = graph.inputs[0]?.name;
  const tensors: string[] = [];
  const channels: number[] = [];
  const add = (t: string) => {
    if (t === pixels || tensors.includes(t)) return;
    const c = convChannels(graph, t);
    if (c === null) return;
    tensors.push(t);
    channels.push(c);
  };
  let lastConv = -1;
  graph.nodes.forEach((node, i) => {
    if (node.op !== 'Conv') return;
    const strides = node.attrs['strides'];
    if (strides?.type === 'ints' && strides.value.some((s) => s > 1)) add(node.inputs[0]!);
    lastConv = i;
  });
  // The deepest activation: what the first flatten or pooling after the last Conv reads.
  const exit = graph.nodes.slice(lastConv + 1).find((n) => ['Reshape', 'Flatten', 'GlobalAveragePool', 'ReduceMean'].includes(n.op));
  if (exit) add(exit.inputs[0]!);
  return { tensors, channels };
}

/**
 * The image tower with a second output `style_features` [N, Σ 2·C]: for each tap, the spatial
 * mean and standard deviation of every channel.
 */
export function withStyleFeatures(graph: Graph, taps: EncoderTaps, opts: { gramTaps?: number } = {}): Graph {
  const g = new GraphBuilder(cloneGraph(graph));
  const blocks: string[] = [];
  taps.tensors.forEach((t, k) => {
    const mean = g.reduceMean(t, [2, 3], 0);
    const meanSq = g.reduceMean(g.mul(t, t), [2, 3], 0);
    const variance = g.relu(g.sub(meanSq, g.mul(mean, mean)));
    blocks.push(mean, g.sqrt(g.add(variance, g.scalar(1e-6))));
    if (k < (opts.gramTaps ?? 0)) blocks.push(gramUpper(g, t, taps.channels[k]!));
  });
  g.op('Concat', blocks, { axis: 1 }, 'style_features');
  g.output('style_features', 'float32', ['batch', styleDimOf(taps, opts)]);
  return g.build();
}

/** Upper triangle (with the diagonal) of the channel Gram matrix F·Fᵀ / HW of an [N, C, H, W] map. */
function gramUpper(g: GraphBuilder, t: string, c: number): string {
  const flat = g.reshape(t, [0, c, -1]);
  const hw = g.cast(g.op('Shape', [flat], { start: 2, end: 3 }), 'float32');
  const gram = g.div(g.matmul(flat, g.transpose(flat, [0, 2, 1])), hw);
  const idx: number[] = [];
  for (let i = 0; i < c; i++) for (let j = i; j < c; j++) idx.push(i * c + j);
  return g.gather(g.reshape(gram, [0, c * c]), g.ints(idx), 1);
}

export function styleDimOf(taps: EncoderTaps, opts: { gramTaps?: number } = {}): number {
  return taps.channels.reduce((a, c, k) => a + 2 * c + (k < (opts.gramTaps ?? 0) ? (c * (c + 1)) / 2 : 0), 0);
}
