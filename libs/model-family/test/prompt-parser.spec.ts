import { describe, expect, it } from 'vitest';
import { createSession, Rng } from '@vca/ml';
import { buildTokenizer, createRng, sampleSceneWith, specKey, type SceneSpec } from '@vca/world';
import {
  buildPromptParserGraph,
  cellCoordinates,
  cellMasks,
  createParserTrainer,
  GROUNDING_DIM,
  LABEL_DIM,
  ModelFamilyConfigSchema,
  PARSER_SLOTS,
  parserBatcher,
  parserDims,
  parserLabels,
  promptSpecOf,
  specFromParser,
  TINY_CONFIG,
  withWeights,
  worldTokenizer,
} from '../src';

const tokenizer = worldTokenizer();
const vocab = buildTokenizer().vocabSize;

describe('prompt parser labels', () => {
  it('encode every full and partial spec so that it reads back exactly', () => {
    const rng = createRng(11);
    for (let i = 0; i < 300; i++) {
      const spec: SceneSpec = promptSpecOf(sampleSceneWith(rng), rng);
      const labels = parserLabels(spec);
      for (let slot = 0; slot < PARSER_SLOTS.length; slot++) expect(labels.subarray(slot * LABEL_DIM, (slot + 1) * LABEL_DIM).reduce((a, b) => a + b, 0)).toBe(4);
      expect(specKey(specFromParser(labels))).toBe(specKey(spec));
    }
    expect(specFromParser(parserLabels({ objects: [] }))).toEqual({ background: undefined, objects: [] });
  });
});

describe('prompt parser (tiny config)', () => {
  const config = ModelFamilyConfigSchema.parse(TINY_CONFIG);

  it('learns to read prompts exactly, and its export emits grounding tokens that decode to the same specs', async () => {
    const BATCH = 16;
    const trainer = await createParserTrainer(config, tokenizer, vocab, BATCH, { lr: 1e-2, steps: 150, warmupSteps: 0, emaDecay: 0.9, threads: 1, seed: 2 });
    const feeds = parserBatcher(2, BATCH, tokenizer)(0, new Rng(1));
    const first = (await trainer.trainStep(feeds)).loss;
    let last = first;
    for (let i = 1; i < 150; i++) last = (await trainer.trainStep(feeds)).loss;
    expect(last).toBeLessThan(0.05 * first);

    const graph = withWeights(buildPromptParserGraph(parserDims(config, vocab, tokenizer.maxLength)), trainer.weights());
    await trainer.release();
    const { session } = await createSession(graph, { threads: 1 });
    const out = (await session.run({ input_ids: feeds.input_ids! }))['last_hidden_state']!;
    await session.release();
    expect(out.dims).toEqual([BATCH, PARSER_SLOTS.length, GROUNDING_DIM]);
    const tokens = out.data as Float32Array;
    const labels = feeds.labels!.data as Float32Array;
    const per = PARSER_SLOTS.length;
    for (let i = 0; i < BATCH; i++) {
      expect(specKey(specFromParser(tokens, i * per * GROUNDING_DIM, GROUNDING_DIM, per))).toBe(specKey(specFromParser(labels, i * per * LABEL_DIM)));
    }
  });
});

describe('UNet grounding constants', () => {
  it('assign every latent pixel to exactly one 3×3 cell, with offsets centred in each cell', () => {
    const S = 16;
    const masks = cellMasks(S, 3);
    for (let p = 0; p < S * S; p++) expect([0, 1, 2, 3, 4, 5, 6, 7, 8].reduce((n, c) => n + masks[c * S * S + p]!, 0)).toBe(1);
    const coords = cellCoordinates(S, 3);
    for (let c = 0; c < 9; c++) {
      const pixels = [...Array(S * S).keys()].filter((p) => masks[c * S * S + p] === 1);
      expect(pixels.length).toBeGreaterThan(20);
      const meanDx = pixels.reduce((a, p) => a + coords[p]!, 0) / pixels.length;
      expect(Math.abs(meanDx)).toBeLessThan(0.25);
    }
  });
});
