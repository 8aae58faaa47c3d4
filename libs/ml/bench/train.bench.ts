/**
 * `npm run bench:train` — issue 2's benchmark: the ~2.31M-parameter UNet at batch 32.
 * Each phase runs in its own child process so peak RSS is per phase (the training step's peak
 * is what the < 2 GB target is about). The last line is one JSON object with the figures.
 * Env: BENCH_BATCH (32), BENCH_THREADS (2), BENCH_REPS (10), BENCH_PYTHON (/usr/bin/python3, Debian's,
 * where python3-torch installs), BENCH_PHASE (internal).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  addMseLoss,
  adamWGraphScalars,
  appendAdamW,
  applyLora,
  buildUNet,
  createSession,
  numel,
  Rng,
  Trainer,
  type Graph,
} from '../src/index';

const BATCH = Number(process.env.BENCH_BATCH ?? 32);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const REPS = Number(process.env.BENCH_REPS ?? 10);
const WARMUP = 3;
const ATTENTION_PROJECTIONS = /attn\.(self|cross)\.(q|k|v|out)\.weight$/;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function batchFeeds(rng: Rng): Record<string, ort.Tensor> {
  const t = (dims: number[]) => new ort.Tensor('float32', rng.normalArray(numel(dims)), dims);
  const timestep = new ort.Tensor('float32', Float32Array.from({ length: BATCH }, () => rng.int(1000)), [BATCH]);
  return { sample: t([BATCH, 4, 16, 16]), timestep, context: t([BATCH, 8, 64]), target: t([BATCH, 4, 16, 16]) };
}

async function time(fn: () => Promise<unknown>): Promise<{ median: number; min: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), min: Math.min(...ms) };
}

function lossGraph(): { graph: Graph; params: string[] } {
  const unet = buildUNet();
  addMseLoss(unet.graph, unet.output);
  return { graph: unet.graph, params: unet.parameters };
}

const phases: Record<string, () => Promise<Record<string, unknown>>> = {
  async forward() {
    const unet = buildUNet();
    const { session } = await createSession(unet.graph, { threads: THREADS });
    const { target: _t, ...feeds } = batchFeeds(new Rng(1));
    const params = unet.parameters.reduce((a, p) => a + numel(unet.graph.initializers.get(p)!.dims), 0);
    return { params, fwd: await time(() => session.run(feeds)) };
  },
  async step() {
    const { graph, params } = lossGraph();
    const feeds = batchFeeds(new Rng(1));
    const trainer = await Trainer.create({ graph, loss: 'loss', trainable: params, exampleFeeds: feeds, config: { runtime: { threads: THREADS } } });
    const step = await time(() => trainer.trainStep(feeds));
    const grads = await trainer.lossAndGradients(feeds);
    const adamTs = await time(async () => trainer.optimizer.step(trainer.params, grads.grads, 1e-4));
    return { step, fwdBwd: await time(() => trainer.lossAndGradients(feeds)), adamTs };
  },
  async stepAdamInGraph() {
    const { graph, params } = lossGraph();
    const feeds = batchFeeds(new Rng(1));
    const trainer = await Trainer.create({ graph, loss: 'loss', trainable: params, exampleFeeds: feeds, config: { runtime: { threads: THREADS } } });
    const withAdam = appendAdamW(trainer.gradientGraph);
    await trainer.release();
    const { session } = await createSession(withAdam.graph, { threads: THREADS });
    const state: Record<string, ort.Tensor> = {};
    for (const [name, t] of trainer.gradientGraph.initialValues) {
      state[name] = new ort.Tensor('float32', Float32Array.from(t.data as Float32Array), t.dims);
      state[`m.${name}`] = new ort.Tensor('float32', new Float32Array(numel(t.dims)), t.dims);
      state[`v.${name}`] = new ort.Tensor('float32', new Float32Array(numel(t.dims)), t.dims);
    }
    let t = 0;
    const step = await time(async () => {
      t += 1;
      const scalars = Object.fromEntries(Object.entries(adamWGraphScalars(1e-4, t)).map(([k, v]) => [k, new ort.Tensor('float32', Float32Array.of(v), [])]));
      const out = await session.run({ ...feeds, ...state, ...scalars });
      // Carry the updated weights and moments into the next step, as a trainer would.
      for (const [p, u] of Object.entries(withAdam.updates)) {
        state[p] = out[u.param];
        state[`m.${p}`] = out[u.m];
        state[`v.${p}`] = out[u.v];
      }
    });
    return { step };
  },
  async lora() {
    const unet = buildUNet();
    const lora = applyLora(unet.graph, { target: ATTENTION_PROJECTIONS, rank: 4, alpha: 4 });
    addMseLoss(lora.graph, unet.output);
    const feeds = batchFeeds(new Rng(1));
    const trainer = await Trainer.create({ graph: lora.graph, loss: 'loss', trainable: /\.lora_[AB]$/, exampleFeeds: feeds, config: { runtime: { threads: THREADS } } });
    return { adapters: lora.adapters.length, step: await time(() => trainer.trainStep(feeds)) };
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

function torchReference(): { torch_step_ms: number | null; torch_lora_step_ms: number | null; note: string } {
  const r = spawnSync(process.env.BENCH_PYTHON ?? '/usr/bin/python3', [join(__dirname, 'unet_torch.py'), String(BATCH), String(THREADS), String(REPS)], {
    env: { ...process.env, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? 'SkylakeX' },
    encoding: 'utf8',
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    return { torch_step_ms: null, torch_lora_step_ms: null, note: `PyTorch not available (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})` };
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
  console.log(`UNet bench: batch ${BATCH}, ${THREADS} threads, median of ${REPS} after ${WARMUP} warm-up runs`);
  const fwd = runPhase('forward');
  console.log(`params:                     ${fwd.params}`);
  console.log(`forward:                    ${f(fwd.fwd as Timed)}   peak RSS ${fwd.peakRssMb} MB`);
  const step = runPhase('step');
  console.log(`full step (fwd+bwd+AdamW):  ${f(step.step as Timed)}   peak RSS ${step.peakRssMb} MB`);
  console.log(`  of which fwd+bwd:         ${f(step.fwdBwd as Timed)}`);
  console.log(`  of which AdamW in TS:     ${f(step.adamTs as Timed)}`);
  const inGraph = runPhase('stepAdamInGraph');
  console.log(`full step, AdamW in graph:  ${f(inGraph.step as Timed)}   peak RSS ${inGraph.peakRssMb} MB`);
  const lora = runPhase('lora');
  console.log(`LoRA-only step (r=4, ${lora.adapters} projections): ${f(lora.step as Timed)}   peak RSS ${lora.peakRssMb} MB`);
  const fwdMs = (fwd.fwd as Timed).median;
  const stepMs = Math.min((step.step as Timed).median, (inGraph.step as Timed).median);
  console.log(`step/forward ratio:         ${(stepMs / fwdMs).toFixed(2)}`);
  const torch = torchReference();
  console.log(`PyTorch reference:          step ${torch.torch_step_ms ?? 'n/a'} ms, LoRA step ${torch.torch_lora_step_ms ?? 'n/a'} ms (${torch.note})`);
  console.log(
    JSON.stringify({
      fwd_ms: +fwdMs.toFixed(1),
      step_ms: +stepMs.toFixed(1),
      lora_step_ms: +(lora.step as Timed).median.toFixed(1),
      torch_step_ms: torch.torch_step_ms,
      torch_lora_step_ms: torch.torch_lora_step_ms,
      peak_rss_mb: step.peakRssMb,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
