import { describe, expect, it } from 'vitest';
import {
  EvalSetSchema,
  SceneOracle,
  SceneRenderer,
  completeSpec,
  createRng,
  generateEvalSet,
  generateExamples,
  judgeEdit,
  parsePrompt,
  specKey,
  specOf,
  splitOf,
  styleDistribution,
  withImages,
} from '@vca/world';

describe('dataset generator', () => {
  it('is deterministic and resumable by index', () => {
    const all = [...generateExamples({ split: 'train', seed: 3, count: 20 })];
    const tail = [...generateExamples({ split: 'train', seed: 3, start: 10, count: 10 })];
    expect(tail).toEqual(all.slice(10));
    expect(new Set(all.map((e) => e.id)).size).toBe(20);
  });

  it('keeps splits disjoint by scene content', () => {
    const train = new Set([...generateExamples({ split: 'train', count: 3000 })].map((e) => specKey(specOf(e.scene))));
    const test = [...generateExamples({ split: 'test', count: 300 })];
    for (const e of test) {
      expect(splitOf(specOf(e.scene))).toBe('test');
      expect(train.has(specKey(specOf(e.scene)))).toBe(false);
    }
  });

  it('gives paraphrased captions that describe their image', () => {
    const examples = [...withImages(generateExamples({ split: 'val', count: 5, captionsPerScene: 3 }), new SceneRenderer({ size: 64 }))];
    expect(examples).toHaveLength(15);
    expect(new Set(examples.slice(0, 3).map((e) => e.caption)).size).toBeGreaterThan(1);
    const oracle = new SceneOracle();
    for (const e of examples) {
      expect(specKey(parsePrompt(e.caption))).toBe(specKey(specOf(e.scene)));
      expect(oracle.judge(e.image, e.caption).match).toBe(true);
    }
  });
});

describe('eval set', () => {
  const evalSet = generateEvalSet({ seed: 0, textToImageCount: 500, editCount: 60 });

  it('has 500 held-out prompts and edit rounds, valid and reproducible', () => {
    expect(EvalSetSchema.parse(evalSet)).toEqual(evalSet);
    expect(evalSet.textToImage).toHaveLength(500);
    expect(evalSet.edits).toHaveLength(60);
    for (const c of evalSet.textToImage) expect(splitOf(c.spec)).toBe('test');
    expect(generateEvalSet({ seed: 0, textToImageCount: 500, editCount: 60 })).toEqual(evalSet);
    expect(new Set(evalSet.edits.map((e) => e.feedback.kind)).size).toBeGreaterThanOrEqual(6);
  });

  it('judges an edit: the asked change and nothing else', () => {
    const renderer = new SceneRenderer();
    const oracle = new SceneOracle();
    const rng = createRng(4);
    let success = 0;
    let unchangedDetected = 0;
    for (const edit of evalSet.edits) {
      const after = renderer.render(completeSpec(edit.targetSpec, rng));
      if (judgeEdit(edit, oracle.judge(after, edit.targetSpec)).success) success++;
      // An image that ignores the feedback: the change is missing, the rest is kept.
      const before = renderer.render(completeSpec(edit.sourceSpec, rng));
      const verdict = judgeEdit(edit, oracle.judge(before, edit.targetSpec));
      if (!verdict.changed) unchangedDetected++;
    }
    expect(success / evalSet.edits.length).toBeGreaterThan(0.9);
    expect(unchangedDetected / evalSet.edits.length).toBeGreaterThan(0.95);
  });

  it('reports the unnamed style distribution of a fixed prompt across seeds', () => {
    const renderer = new SceneRenderer();
    const oracle = new SceneOracle();
    const spec = evalSet.textToImage[0].spec;
    const rng = createRng(8);
    const parsed = Array.from({ length: 40 }, () => oracle.read(renderer.render({ ...completeSpec(spec, rng) })));
    const dist = styleDistribution(parsed);
    expect(dist.objects).toBeGreaterThanOrEqual(40);
    expect(dist.outline.none + dist.outline.dark + dist.outline.light).toBeCloseTo(1);
    expect(dist.textured).toBeGreaterThan(0.3);
    expect(dist.textured).toBeLessThan(1);
  });
});
