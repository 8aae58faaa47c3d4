import * as ort from 'onnxruntime-node';
import { buildUNet, addMseLoss, buildGradientGraph, createSession, Rng, numel } from '../src/index';
(async () => {
  const unet = buildUNet();
  let n = 0; for (const p of unet.parameters) n += numel(unet.graph.initializers.get(p)!.dims);
  console.log('params', n);
  const rng = new Rng(1); const B = 32;
  const t = (d: number[]) => new ort.Tensor('float32', rng.normalArray(numel(d)), d);
  const feeds: Record<string, ort.Tensor> = { sample: t([B,4,16,16]), timestep: new ort.Tensor('float32', new Float32Array(B).fill(300), [B]), context: t([B,8,64]) };
  const fwd = (await createSession(unet.graph, { threads: 2 })).session;
  for (let i=0;i<3;i++) await fwd.run(feeds);
  let t0 = performance.now(); for (let i=0;i<10;i++) await fwd.run(feeds); console.log('fwd ms', (performance.now()-t0)/10);
  addMseLoss(unet.graph, unet.output);
  feeds.target = t([B,4,16,16]);
  t0 = performance.now();
  const gg = await buildGradientGraph(unet.graph, { loss: 'loss', wrt: unet.parameters, feeds });
  console.log('build ms', performance.now()-t0, 'nodes', gg.graph.nodes.length);
  const s = (await createSession(gg.graph, { threads: 2 })).session;
  for (const [k, v] of gg.initialValues) feeds[k] = new ort.Tensor('float32', v.data as Float32Array, v.dims);
  for (let i=0;i<3;i++) await s.run(feeds);
  t0 = performance.now(); for (let i=0;i<10;i++) await s.run(feeds); console.log('fwd+bwd ms', (performance.now()-t0)/10);
  console.log('rss MB', process.memoryUsage().rss/1e6);
  if (process.env.PROFILE) {
    const p = (await ort.InferenceSession.create(Buffer.from((await import('../src/index')).encodeModel(gg.graph).model), { intraOpNumThreads: 2, enableProfiling: true, profileFilePrefix: '/tmp/mlprof' } as any));
    for (let i=0;i<5;i++) await p.run(feeds);
    p.endProfiling();
  }
})();
