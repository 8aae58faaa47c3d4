import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, Rng, type TensorData } from '@vca/ml';
import { alphasCumprod, betaSchedule, DiffusionPipeline } from '@vca/diffusion';
import { buildTokenizer } from '@vca/world';
import {
  buildDiffusionTrainingGraph,
  createDiffusionTrainer,
  diffusionBatcher,
  exportedDualWeights,
  exportModelFamily,
  ModelFamilyConfigSchema,
  TINY_CONFIG,
  trainingAlphasCumprod,
  worldTokenizer,
  type ModelFamilyConfig,
} from '../src';
import { textWeightsFor } from './text-weights.util';

const tok = buildTokenizer();
const tokenizer = worldTokenizer();
const BATCH = 4;
const hyper = { lr: 3e-3, steps: 10, warmupSteps: 0, emaDecay: 0.9, threads: 1, seed: 5 };

/**
 * What the trainer optimises and what the runtime samples with must be the same function of the
 * same inputs: prompt ids → exported text encoder → exported UNet(x_t, t) must give the training
 * graph's loss on a training batch, for every prediction type the family can be trained with.
 */
describe.each([
  ['sample', 'parser'],
  ['v_prediction', 'dual'],
] as const)('training and the exported pipeline agree (tiny config, %s, %s text encoder)', (predictionType, textEncoder) => {
  const dir = mkdtempSync(join(tmpdir(), 'vca-mf-consistency-'));
  const config: ModelFamilyConfig = ModelFamilyConfigSchema.parse({ ...TINY_CONFIG, textEncoder, schedule: { predictionType } });
  let dualWeights: Map<string, TensorData>;
  let trainLoss = 0;
  let feeds: Record<string, ort.Tensor>;

  beforeAll(async () => {
    const text = await textWeightsFor(config, tokenizer, tok.vocabSize, BATCH, hyper);
    dualWeights = text.dual;
    // Teacher-forced places (the layout prior reading open places from the target) are a deliberate
    // training-only difference; without them training must be the exported function exactly.
    const trainer = await createDiffusionTrainer(config, tokenizer, tok.vocabSize, BATCH, hyper, text.frozen, { teacherForcedPlaces: false });
    const batch = diffusionBatcher({ config, seed: 5, batch: BATCH, tokenizer, uncondRate: 0 });
    const rng = new Rng(2);
    // A few steps so text_proj (zero-initialised) and conv_out carry the prompt into the output.
    for (let s = 0; s < 6; s++) await trainer.trainStep(batch(s, rng));
    feeds = batch(100, rng);
    trainLoss = (await trainer.lossAndGradients(feeds)).loss;
    exportModelFamily(dir, { config, vocabSize: tok.vocabSize, maxLength: tok.maxLength, diffusionWeights: trainer.weights('current'), dualWeights, parserWeights: text.parser, training: {} });
    await trainer.release();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the training loss when the exported text encoder and UNet run on a training batch', async () => {
    const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
    const te = await ort.InferenceSession.create(join(dir, 'text_encoder', 'model.onnx'), opts);
    const unet = await ort.InferenceSession.create(join(dir, 'unet', 'model.onnx'), opts);
    const context = (await te.run({ input_ids: feeds.input_ids! }))['last_hidden_state']!;
    const out = (await unet.run({ sample: feeds.sample!, timestep: feeds.timestep!, encoder_hidden_states: context }))['out_sample']!.data as Float32Array;
    const target = feeds.target!.data as Float32Array;
    const w = feeds.weight!.data as Float32Array;
    const per = target.length / BATCH;
    let loss = 0;
    for (let j = 0; j < target.length; j++) loss += w[Math.floor(j / per)]! * (out[j]! - target[j]!) ** 2;
    expect(loss / target.length).toBeCloseTo(trainLoss, 4);
    await te.release();
    await unet.release();
  });

  it.runIf(predictionType === 'sample')('by default picks the layout prior\'s open places from the clean target in training, from the sample in the export', () => {
    const readsForPlaces = (graph: { nodes: { op: string; inputs: string[] }[] }) => graph.nodes.filter((n) => n.op === 'DepthToSpace').map((n) => n.inputs[0]);
    expect(readsForPlaces(buildDiffusionTrainingGraph(config, tok.vocabSize, tok.maxLength, BATCH, 1).graph)).toEqual(['target']);
    expect(readsForPlaces(buildDiffusionTrainingGraph(config, tok.vocabSize, tok.maxLength, BATCH, 1, { teacherForcedPlaces: false }).graph)).toEqual(['sample']);
    expect(readsForPlaces(loadModel(join(dir, 'unet', 'model.onnx')))).toEqual(['sample']);
  });

  it('ships the training noise schedule and prediction type, and the runtime tokenizer encodes as training does', async () => {
    const pipe = await DiffusionPipeline.load(dir, { threads: 1 });
    try {
      const sc = pipe.model.schedulerConfig;
      expect(sc.prediction_type).toBe(predictionType);
      expect(sc.timestep_spacing).toBe('trailing');
      expect(Array.from(alphasCumprod(betaSchedule(sc)))).toEqual(Array.from(trainingAlphasCumprod(config)));
      for (const p of ['', 'a large red circle in the center on a blue background']) expect(pipe.model.tokenizer.encode(p)).toEqual(tokenizer.encode(p));
    } finally {
      await pipe.dispose();
    }
  });

  it('reads the dual encoder back from the export (what --dual-from uses) with the weights it was given', () => {
    const back = exportedDualWeights(dir);
    expect([...back.keys()].sort()).toEqual([...dualWeights.keys()].sort());
    for (const [k, t] of dualWeights) expect(Array.from(back.get(k)!.data as Float32Array), k).toEqual(Array.from(t.data as Float32Array));
  });
});
