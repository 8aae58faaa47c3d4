/**
 * `npm run bench:train` — issue 2's benchmark: the ~2.31M-parameter UNet at batch 32.
 * Peak RSS comes from a child process that only sets up and runs training steps (the < 2 GB
 * target); timings from a second child that interleaves all variants, so load from other
 * processes on a shared machine skews them alike. The last line is one JSON object.
 * Training steps are timed both as one session with BENCH_THREADS intra-op threads and as
 * BENCH_REPLICAS data-parallel replicas (worker threads) with BENCH_THREADS / replicas each; the
 * forward too, so the ratios can be read either way. The JSON reports the faster configuration.
 * Env: BENCH_BATCH (32), BENCH_THREADS (2), BENCH_REPLICAS (2), BENCH_REPS (10), BENCH_SPINNING (1: idle threads spin a bounded while, the runtime's default; 0: they sleep at once), BENCH_SPIN_US (the bound, default the runtime's), BENCH_PYTHON (/usr/bin/python3, Debian's,
 * where python3-torch installs), BENCH_PHASE (internal).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  addMseLoss,
  adamWGraphScalars,
  appendAdamW,
  applyLora,
  buildUNet,
  createSession,
  encodeModel,
  numel,
  ReplicaPool,
  Rng,
  runtimeOptionsSchema,
  Trainer,
  type Graph,
  type SpinOptions,
} from '../src/index';

const BATCH = Number(process.env.BENCH_BATCH ?? 32);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
// Idle ORT threads spin for a bounded while before they sleep (the runtime's default), and so do
// the PyTorch reference's OpenMP threads (libgomp's default wait policy): on this 2-vCPU VM both
// ran faster that way than with no spinning or unbounded spinning. BENCH_SPINNING=0 makes both
// sleep at once (OMP_WAIT_POLICY=PASSIVE), for a CPU shared with other busy processes.
const SPINNING = process.env.BENCH_SPINNING !== '0';
const SPIN: SpinOptions = runtimeOptionsSchema
  .pick({ spinning: true, spinMicros: true })
  .parse({ spinning: SPINNING, ...(process.env.BENCH_SPIN_US ? { spinMicros: Number(process.env.BENCH_SPIN_US) } : {}) });
const REPS = Number(process.env.BENCH_REPS ?? 10);
const REPLICAS = Math.max(1, Math.min(THREADS, Number(process.env.BENCH_REPLICAS ?? 2)));
const WARMUP = 3;
const ATTENTION_PROJECTIONS = /attn\.(self|cross)\.(q|k|v|out)\.weight$/;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function batchFeeds(rng: Rng): Record<string, ort.Tensor> {
  const t = (dims: number[]) => new ort.Tensor('float32', rng.normalArray(numel(dims)), dims);
  const timestep = new ort.Tensor('float32', Float32Array.from({ length: BATCH }, () => rng.int(1000)), [BATCH]);
  return { sample: t([BATCH, 4, 16, 16]), timestep, context: t([BATCH, 8, 64]), target: t([BATCH, 4, 16, 16]) };
}

/**
 * Times several runs interleaved round-robin (warm-up first), so that load from other processes
 * on a shared machine hits every variant alike and their ratios stay meaningful.
 */
async function timeInterleaved(fns: Record<string, () => Promise<unknown>>): Promise<Record<string, { median: number; min: number }>> {
  const ms: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let i = 0; i < WARMUP + REPS; i++) {
    for (const [name, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      await fn();
      if (i >= WARMUP) ms[name].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, { median: median(v), min: Math.min(...v) }]));
}

function lossGraph(): { graph: Graph; params: string[] } {
  const unet = buildUNet();
  addMseLoss(unet.graph, unet.output);
  return { graph: unet.graph, params: unet.parameters };
}

async function fullTrainer(feeds: Record<string, ort.Tensor>, replicas = 1): Promise<Trainer> {
  const { graph, params } = lossGraph();
  return Trainer.create({ graph, loss: 'loss', trainable: params, exampleFeeds: feeds, config: { replicas, runtime: { threads: THREADS, ...SPIN } } });
}

async function loraTrainer(feeds: Record<string, ort.Tensor>, replicas = 1): Promise<{ trainer: Trainer; adapters: number }> {
  const unet = buildUNet();
  const lora = applyLora(unet.graph, { target: ATTENTION_PROJECTIONS, rank: 4, alpha: 4 });
  addMseLoss(lora.graph, unet.output);
  const trainer = await Trainer.create({ graph: lora.graph, loss: 'loss', trainable: /\.lora_[AB]$/, exampleFeeds: feeds, config: { replicas, runtime: { threads: THREADS, ...SPIN } } });
  return { trainer, adapters: lora.adapters.length };
}

/** The inference forward as data-parallel replicas (for reading the step ratios against it). */
async function replicaForward(graph: Graph, output: string): Promise<ReplicaPool> {
  return ReplicaPool.create({
    model: encodeModel(graph).model,
    replicas: REPLICAS,
    threads: Math.max(1, Math.floor(THREADS / REPLICAS)),
    spin: SPIN,
    shared: new SharedArrayBuffer(16),
    inputs: [],
    outputs: Array.from({ length: REPLICAS }, () => []),
    loss: output,
  });
}

/** A full step with the AdamW update inside the graph: weights and moments go in and come back out. */
async function inGraphAdamStep(trainer: Trainer, feeds: Record<string, ort.Tensor>): Promise<() => Promise<void>> {
  const withAdam = appendAdamW(trainer.gradientGraph);
  const { session } = await createSession(withAdam.graph, { threads: THREADS, ...SPIN });
  const state: Record<string, ort.Tensor> = {};
  for (const [name, t] of trainer.gradientGraph.initialValues) {
    state[name] = new ort.Tensor('float32', Float32Array.from(t.data as Float32Array), t.dims);
    state[`m.${name}`] = new ort.Tensor('float32', new Float32Array(numel(t.dims)), t.dims);
    state[`v.${name}`] = new ort.Tensor('float32', new Float32Array(numel(t.dims)), t.dims);
  }
  let t = 0;
  return async () => {
    t += 1;
    const scalars = Object.fromEntries(Object.entries(adamWGraphScalars(1e-4, t)).map(([k, v]) => [k, new ort.Tensor('float32', Float32Array.of(v), [])]));
    const out = await session.run({ ...feeds, ...state, ...scalars });
    // Carry the updated weights and moments into the next step, as a trainer would.
    for (const [p, u] of Object.entries(withAdam.updates)) {
      state[p] = out[u.param];
      state[`m.${p}`] = out[u.m];
      state[`v.${p}`] = out[u.v];
    }
  };
}

const phases: Record<string, () => Promise<Record<string, unknown>>> = {
  /** Peak memory of a process that only sets up and runs batch-32 training steps (as replicas where they are used). */
  async memory() {
    const feeds = batchFeeds(new Rng(1));
    const trainer = await fullTrainer(feeds, REPLICAS);
    for (let i = 0; i < 3; i++) await trainer.trainStep(feeds);
    await trainer.release();
    return {};
  },
  async timing() {
    const unet = buildUNet();
    const params = unet.parameters.reduce((a, p) => a + numel(unet.graph.initializers.get(p)!.dims), 0);
    const feeds = batchFeeds(new Rng(1));
    const { target: _t, ...fwdFeeds } = feeds;
    const { session: forward } = await createSession(unet.graph, { threads: THREADS, ...SPIN });
    const forwardDp = await replicaForward(unet.graph, unet.output);
    const trainer = await fullTrainer(feeds);
    const trainerDp = await fullTrainer(feeds, REPLICAS);
    const adamInGraph = await inGraphAdamStep(trainer, feeds);
    const lora = await loraTrainer(feeds);
    const loraDp = await loraTrainer(feeds, REPLICAS);
    const grads = (await trainer.lossAndGradients(feeds, { reuseBuffers: true })).grads; // in the trainer's SIMD arena, as in a step
    const times = await timeInterleaved({
      fwd: () => forward.run(fwdFeeds),
      fwdDp: () => forwardDp.run(fwdFeeds),
      step: () => trainer.trainStep(feeds),
      stepDp: () => trainerDp.trainStep(feeds),
      fwdBwd: () => trainer.lossAndGradients(feeds),
      adamTs: async () => trainer.optimizer.step(trainer.params, grads, 1e-4),
      stepAdamInGraph: adamInGraph,
      lora: () => lora.trainer.trainStep(feeds),
      loraDp: () => loraDp.trainer.trainStep(feeds),
    });
    for (const t of [trainer, trainerDp, lora.trainer, loraDp.trainer]) await t.release();
    await forwardDp.release();
    return { params, adapters: lora.adapters, ...times };
  },
};

function runPhase(name: string): Record<string, unknown> & { peakRssMb: number } {
  const r = spawnSync(process.execPath, ['-r', '@swc-node/register', __filename], {
    env: { ...process.env, BENCH_PHASE: name },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`bench phase ${name} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(last);
}

/**
 * OpenBLAS kernel set for the PyTorch reference: SkylakeX where the CPU has AVX-512 (the issue's
 * reference machine), else Haswell (AVX2). Forcing SkylakeX on an AVX2-only CPU kills Python
 * with SIGILL; OPENBLAS_CORETYPE in the environment wins.
 */
function openblasCoreType(): string {
  if (process.env.OPENBLAS_CORETYPE) return process.env.OPENBLAS_CORETYPE;
  const flags = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  return /\bavx512f\b/.test(flags) ? 'SkylakeX' : 'Haswell';
}

function torchReference(): { torch_step_ms: number | null; torch_lora_step_ms: number | null; note: string } {
  const r = spawnSync(process.env.BENCH_PYTHON ?? '/usr/bin/python3', [join(__dirname, 'unet_torch.py'), String(BATCH), String(THREADS), String(REPS)], {
    env: { ...process.env, OPENBLAS_CORETYPE: openblasCoreType(), ...(SPINNING ? {} : { OMP_WAIT_POLICY: 'PASSIVE' }) },
    encoding: 'utf8',
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').pop() || (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
    return { torch_step_ms: null, torch_lora_step_ms: null, note: `PyTorch not available (${why})` };
  }
  const j = JSON.parse(last);
  return { torch_step_ms: j.torch_step_ms, torch_lora_step_ms: j.torch_lora_step_ms, note: `PyTorch ${j.torch_version}, ${j.params} params` };
}

async function main(): Promise<void> {
  const phase = process.env.BENCH_PHASE;
  if (phase) {
    const result = await phases[phase]();
    console.log(JSON.stringify({ ...result, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
    return;
  }
  type Timed = { median: number; min: number };
  const f = (t: Timed) => `${t.median.toFixed(1)} ms (min ${t.min.toFixed(1)})`;
  console.log(`UNet bench: batch ${BATCH}, ${THREADS} threads, idle threads ${SPINNING ? `spin up to ${SPIN.spinMicros} µs` : 'sleep'}, median of ${REPS} interleaved runs after ${WARMUP} warm-up rounds`);
  const mem = runPhase('memory');
  const t = runPhase('timing') as unknown as Record<string, Timed> & { params: number; adapters: number };
  const dp = `${REPLICAS} replicas × ${Math.max(1, Math.floor(THREADS / REPLICAS))} thread`;
  console.log(`params:                     ${t.params}`);
  console.log(`forward:                    ${f(t.fwd)}`);
  console.log(`forward, ${dp}: ${f(t.fwdDp)}`);
  console.log(`full step (fwd+bwd+AdamW):  ${f(t.step)}`);
  console.log(`  of which fwd+bwd:         ${f(t.fwdBwd)}`);
  console.log(`  of which AdamW (TS+SIMD): ${f(t.adamTs)}`);
  console.log(`full step, AdamW in graph:  ${f(t.stepAdamInGraph)}`);
  console.log(`full step, ${dp}: ${f(t.stepDp)}`);
  console.log(`LoRA-only step (r=4, ${t.adapters} projections): ${f(t.lora)}`);
  console.log(`LoRA-only step, ${dp}: ${f(t.loraDp)}`);
  console.log(`peak RSS of a training process (setup + batch-${BATCH} steps, ${REPLICAS} replicas): ${mem.peakRssMb} MB`);
  const fwdMs = t.fwd.median;
  const stepMs = Math.min(t.step.median, t.stepAdamInGraph.median, t.stepDp.median);
  const loraMs = Math.min(t.lora.median, t.loraDp.median);
  console.log(`step/forward ratio:         ${(stepMs / fwdMs).toFixed(2)}   LoRA step/forward: ${(loraMs / fwdMs).toFixed(2)}   (fastest configurations over the 1-session forward)`);
  console.log(`  against the replica forward (${t.fwdDp.median.toFixed(1)} ms): ${(stepMs / t.fwdDp.median).toFixed(2)} and ${(loraMs / t.fwdDp.median).toFixed(2)}`);
  const torch = torchReference();
  console.log(`PyTorch reference:          step ${torch.torch_step_ms ?? 'n/a'} ms, LoRA step ${torch.torch_lora_step_ms ?? 'n/a'} ms (${torch.note})`);
  console.log(
    JSON.stringify({
      fwd_ms: +fwdMs.toFixed(1),
      step_ms: +stepMs.toFixed(1),
      lora_step_ms: +loraMs.toFixed(1),
      torch_step_ms: torch.torch_step_ms,
      torch_lora_step_ms: torch.torch_lora_step_ms,
      peak_rss_mb: mem.peakRssMb,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
