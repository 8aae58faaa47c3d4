import * as ort from 'onnxruntime-node';
import { createSession, type TensorData } from '@vca/ml';
import { buildTokenizer, createRng, deriveSeed, specKey } from '@vca/world';
import { GROUNDING_DIM, PARSER_SLOTS, buildPromptParserGraph } from '../graphs/prompt-parser.graph';
import { withWeights } from '../export/model-exporter';
import { promptFor, sceneFor, tokenBatch, worldTokenizer } from '../data/scene-data.util';
import { specFromParser } from '../data/parser-labels.util';
import type { ModelFamilyConfig } from '../model-family.config';
import { parserDims } from '../training/diffusion.stage';

/**
 * Share of held-out prompts (scenes the parser never saw, paraphrased, full and partial) that the
 * parser with `weights` reads back exactly: every named attribute and nothing else (order-free).
 */
export async function parserAccuracy(c: ModelFamilyConfig, weights: ReadonlyMap<string, TensorData>, o: { seed: number; count: number; threads?: number }): Promise<{ exact: number; count: number }> {
  const tokenizer = worldTokenizer();
  const graph = withWeights(buildPromptParserGraph(parserDims(c, buildTokenizer().vocabSize, tokenizer.maxLength)), weights);
  const { session } = await createSession(graph, { threads: o.threads ?? 0 });
  try {
    const words = createRng(deriveSeed(o.seed, 'parser-eval', 0));
    const items = Array.from({ length: o.count }, (_, i) => promptFor(sceneFor(o.seed, 'parser-eval', i, 'heldout'), words));
    const ids = new ort.Tensor('int64', tokenBatch(tokenizer, items.map((x) => x.prompt)), [o.count, tokenizer.maxLength]);
    const tokens = (await session.run({ input_ids: ids }))['last_hidden_state']!.data as Float32Array;
    const per = PARSER_SLOTS.length * GROUNDING_DIM;
    const right = items.filter((x, i) => specKey(specFromParser(tokens, i * per, GROUNDING_DIM, PARSER_SLOTS.length)) === specKey(x.spec)).length;
    return { exact: right / o.count, count: o.count };
  } finally {
    await session.release();
  }
}
