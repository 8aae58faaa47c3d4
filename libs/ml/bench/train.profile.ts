/**
 * `node -r @swc-node/register libs/ml/bench/train.profile.ts [full|lora|fwd]` — where the time of a
 * UNet training step goes. Runs the step's graph with ORT's node profiler and prints the kernel
 * time per op type, split into forward and backward nodes, and the costliest backward groups
 * (backward nodes are named after the forward op whose rule emitted them). With PROFILE_STAT=min
 * (the default) it also sums each node's minimum over the runs, by op and by the forward op a
 * backward node differentiates: robust to other processes on a shared CPU.
 * Env: BENCH_BATCH (32), BENCH_THREADS (2), PROFILE_RUNS (5), PROFILE_TOP (25), PROFILE_NODES (n:
 * list the n costliest nodes), PROFILE_DUMP (op-name regex: one run's raw events), PROFILE_NCHWC=0
 * (without the NCHWc rewrite), PROFILE_BLOCK=0 (gradients not tuned for NCHWc), PROFILE_STAT=mean,
 * PROFILE_CONVS=1 (per forward convolution: its kernel time and its backward's, by kernel).
 * With the per-node minima it also prints the step's kernel time over the forward nodes', with and
 * without the backward's layout copies (Transpose, Slice, Concat, Pad, gathers, reorders).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { addMseLoss, applyLora, buildGradientGraph, buildUNet, encodeModel, GRADIENT_RULES, numel, Rng, useNchwcConvs, type Graph } from '../src/index';

const BATCH = Number(process.env.BENCH_BATCH ?? 32);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const RUNS = Number(process.env.PROFILE_RUNS ?? 5);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
/** Kernels that only move data (layout changes, windows, gathers): what fused backward kernels would not need. */
const LAYOUT_COPIES = new Set(['Transpose', 'Slice', 'Concat', 'Pad', 'GatherElements', 'DepthToSpace', 'ReorderInput', 'ReorderOutput', 'Reshape', 'Split']);

// Tag the nodes each rule emits with the forward op and node they differentiate.
for (const [op, rule] of Object.entries(GRADIENT_RULES)) {
  GRADIENT_RULES[op] = (ctx, node, g, needs) => {
    const before = ctx.b.graph.nodes.length;
    const out = rule(ctx, node, g, needs);
    for (const n of ctx.b.graph.nodes.slice(before)) n.name = `bwd|${op}|${node.name}|${n.name}`;
    return out;
  };
}

function feeds(rng: Rng): Record<string, ort.Tensor> {
  const t = (dims: number[]) => new ort.Tensor('float32', rng.normalArray(numel(dims)), dims);
  const timestep = new ort.Tensor('float32', Float32Array.from({ length: BATCH }, () => rng.int(1000)), [BATCH]);
  return { sample: t([BATCH, 4, 16, 16]), timestep, context: t([BATCH, 8, 64]), target: t([BATCH, 4, 16, 16]) };
}

/** Names of the forward graph's nodes; other untagged nodes are backward glue (SiLU, sums). */
let forwardNames: Set<string> | undefined;

async function graphFor(mode: string, f: Record<string, ort.Tensor>): Promise<{ graph: Graph; feeds: Record<string, ort.Tensor> }> {
  const unet = buildUNet();
  if (mode === 'fwd') {
    const { target: _t, ...rest } = f;
    return { graph: unet.graph, feeds: rest };
  }
  let forward = unet.graph;
  let wrt = unet.parameters;
  if (mode === 'lora') {
    const lora = applyLora(unet.graph, { target: /attn\.(self|cross)\.(q|k|v|out)\.weight$/, rank: 4, alpha: 4 });
    forward = lora.graph;
    wrt = lora.adapters.flatMap((a) => [a.a, a.b]);
  }
  addMseLoss(forward, unet.output);
  forwardNames = new Set(forward.nodes.map((n) => n.name));
  // PROFILE_BLOCK=0 builds the gradients without the NCHWc-tuned formulations.
  const nchwcBlock = process.env.PROFILE_BLOCK === undefined ? undefined : Number(process.env.PROFILE_BLOCK);
  const gg = await buildGradientGraph(forward, { loss: 'loss', wrt, feeds: f, nchwcBlock });
  const all = { ...f };
  for (const [name, t] of gg.initialValues) all[name] = new ort.Tensor('float32', t.data as Float32Array, t.dims);
  return { graph: gg.graph, feeds: all };
}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'full';
  const built = await graphFor(mode, feeds(new Rng(1)));
  // PROFILE_NCHWC=0 profiles the graph without the NCHWc rewrite createSession applies on CPU.
  const graph = process.env.PROFILE_NCHWC === '0' ? built.graph : await useNchwcConvs(built.graph);
  const all = built.feeds;
  const dir = mkdtempSync(join(tmpdir(), 'ml-profile-'));
  const session = await ort.InferenceSession.create(encodeModel(graph).model, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableProfiling: true,
    profileFilePrefix: join(dir, 'p'),
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  for (let i = 0; i < 3; i++) await session.run(all);
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) await session.run(all);
  const wall = (performance.now() - t0) / RUNS;
  session.endProfiling();
  await session.release();
  const file = readFileSync(join(dir, (await import('node:fs')).readdirSync(dir)[0]), 'utf8');
  rmSync(dir, { recursive: true });
  type Ev = { cat: string; name: string; dur: number; args?: { op_name?: string } };
  const events = (JSON.parse(file) as Ev[]).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  if (process.env.PROFILE_DUMP) for (const e of events.slice(0, events.length / (RUNS + 3))) if (new RegExp(process.env.PROFILE_DUMP).test(e.args?.op_name ?? '')) console.log(e.args?.op_name, e.name, (e.dur / 1000).toFixed(2));
  const runs = RUNS + 3;
  const byOp = new Map<string, [number, number]>();
  const byGroup = new Map<string, number>();
  let total = 0;
  // ORT renames nodes it rewrites (NCHWc convs are named after their output): map back by output.
  const byOutput = new Map<string, string>();
  for (const n of graph.nodes) for (const o of n.outputs) byOutput.set(o, n.name);
  const nodeNames = new Set(graph.nodes.map((n) => n.name));
  const detail = new Map<string, number>();
  // Per node, every run's kernel time: the minimum is robust to preemption on a shared CPU.
  const perNode = new Map<string, number[]>();
  for (const e of events) {
    const raw = e.name.slice(0, -'_kernel_time'.length);
    const name = nodeNames.has(raw) ? raw : byOutput.get(raw.replace(/_nchwc$/, '')) ?? byOutput.get(raw) ?? raw;
    const fwdNode = graph.nodes.find((n) => n.name === name);
    const label = fwdNode && (fwdNode.op === 'Conv' || fwdNode.op === 'ConvTranspose') ? ` [${fwdNode.inputs[1]} ${raw}]` : '';
    const dkey = `${e.args?.op_name} ${name}${label}`;
    detail.set(dkey, (detail.get(dkey) ?? 0) + e.dur / 1000 / runs);
    const times = perNode.get(dkey) ?? [];
    times.push(e.dur / 1000);
    perNode.set(dkey, times);
    const bwd = name.startsWith('bwd|') || /(^|\/)(Sum|Identity|ConstantOfShape)/.test(name);
    const op = e.args?.op_name ?? '?';
    const slot = byOp.get(op) ?? [0, 0];
    slot[bwd ? 1 : 0] += e.dur / 1000 / runs;
    byOp.set(op, slot);
    total += e.dur / 1000 / runs;
    if (name.startsWith('bwd|')) {
      const [, fop, fnode] = name.split('|');
      const key = `${fop} ${fnode}`;
      byGroup.set(key, (byGroup.get(key) ?? 0) + e.dur / 1000 / runs);
    }
  }
  console.log(`${mode}: wall ${wall.toFixed(1)} ms/run (profiling on), kernel time ${total.toFixed(1)} ms/run, ${graph.nodes.length} nodes`);
  const fwdTotal = [...byOp.values()].reduce((a, [f]) => a + f, 0);
  console.log(`forward nodes ${fwdTotal.toFixed(1)} ms, backward nodes ${(total - fwdTotal).toFixed(1)} ms`);
  console.log('op type                  fwd ms   bwd ms');
  for (const [op, [f, b]] of [...byOp].sort((a, b) => b[1][0] + b[1][1] - a[1][0] - a[1][1])) {
    console.log(`${op.padEnd(22)} ${f.toFixed(2).padStart(8)} ${b.toFixed(2).padStart(8)}`);
  }
  console.log('costliest backward groups (forward op, node):');
  for (const [k, v] of [...byGroup].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${v.toFixed(2).padStart(8)} ms  ${k}`);
  if ((process.env.PROFILE_STAT ?? 'min') === 'min') {
    for (const [k, v] of perNode) detail.set(k, Math.min(...v));
    const byType = new Map<string, number>();
    for (const [k, v] of detail) byType.set(k.split(' ')[0], (byType.get(k.split(' ')[0]) ?? 0) + v);
    console.log(`sum of per-node minimum kernel times: ${[...detail.values()].reduce((a, b) => a + b, 0).toFixed(1)} ms; by op: ${[...byType].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
    // By the forward op a backward node differentiates (forward nodes: 'forward'), then by kernel.
    const byRule = new Map<string, Map<string, number>>();
    for (const [k, v] of detail) {
      const [kernel, name] = k.split(' ');
      const base = name.replace(/_nchwc(_kernel.*)?$/, '');
      const glue = forwardNames && !forwardNames.has(base) && !forwardNames.has(name) && !kernel.startsWith('Reorder');
      const rule = name.startsWith('bwd|') ? name.split('|')[1] : glue ? 'backward glue (SiLU, Σ)' : 'forward';
      const m = byRule.get(rule) ?? new Map<string, number>();
      m.set(kernel, (m.get(kernel) ?? 0) + v);
      byRule.set(rule, m);
    }
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    byGroup.clear();
    for (const [k, v] of detail) {
      const name = k.split(' ')[1];
      if (!name.startsWith('bwd|')) continue;
      const [, fop, fnode] = name.split('|');
      const w = graph.nodes.find((n) => n.name === fnode)?.inputs[1] ?? '';
      const key = `${fop} ${fnode}${fop === 'Conv' ? ` (${w})` : ''}`;
      byGroup.set(key, (byGroup.get(key) ?? 0) + v);
    }
    console.log('backward groups by per-node minimum:');
    for (const [k, v] of [...byGroup].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${v.toFixed(2).padStart(8)} ms  ${k}`);
    for (const [rule, m] of [...byRule].sort((a, b) => total(b[1]) - total(a[1]))) {
      console.log(`  ${rule.padEnd(22)} ${total(m).toFixed(1).padStart(6)} ms: ${[...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
    }
    // How far the step is from 3× the forward with no layout copy in the backward at all.
    const forwardMs = byRule.has('forward') ? total(byRule.get('forward')!) : 0;
    const stepMs = [...detail.values()].reduce((a, b) => a + b, 0);
    let copiesMs = 0;
    for (const [rule, m] of byRule) if (rule !== 'forward') for (const [k, v] of m) if (LAYOUT_COPIES.has(k)) copiesMs += v;
    if (mode !== 'fwd' && forwardMs > 0) {
      console.log(
        `per-node minima: forward nodes ${forwardMs.toFixed(1)} ms; step ${stepMs.toFixed(1)} ms = ${(stepMs / forwardMs).toFixed(2)}× of them; ` +
          `backward layout copies ${copiesMs.toFixed(1)} ms; without them ${(stepMs - copiesMs).toFixed(1)} ms = ${((stepMs - copiesMs) / forwardMs).toFixed(2)}×`,
      );
    }
  }
  if (process.env.PROFILE_CONVS) {
    // Per forward convolution: its kernel time and its backward's, by kernel (per-node minimum).
    console.log('per convolution (weight dims): forward ms | backward ms by kernel');
    for (const n of built.graph.nodes) {
      if (!forwardNames?.has(n.name) || n.op !== 'Conv') continue;
      const own = [...detail].filter(([k]) => k.split(' ')[1].replace(/_nchwc$/, '') === n.name).reduce((a, [, v]) => a + v, 0);
      const parts = new Map<string, number>();
      for (const [k, v] of detail) {
        const [kernel, name] = k.split(' ');
        if (name.startsWith(`bwd|Conv|${n.name}|`)) parts.set(kernel, (parts.get(kernel) ?? 0) + v);
      }
      const dims = built.graph.initializers.get(n.inputs[1])?.dims ?? built.feeds[n.inputs[1]]?.dims ?? [];
      const bwd = [...parts.values()].reduce((a, b) => a + b, 0);
      console.log(`${n.name.padEnd(10)} [${dims.join(',')}] fwd ${own.toFixed(2)} bwd ${bwd.toFixed(2)}: ${[...parts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    }
  }
  if (process.env.PROFILE_NODES) {
    console.log('costliest nodes:');
    for (const [k, v] of [...detail].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_NODES))) console.log(`${v.toFixed(2).padStart(8)} ms  ${k}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
