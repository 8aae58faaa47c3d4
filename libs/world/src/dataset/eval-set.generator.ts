import { z } from 'zod';
import { createRng, deriveSeed, type Rng } from '../util/rng.util';
import { COLORS, POSITIONS, SHAPES, SIZES, SceneSpecSchema, positionCell, specOf, type SceneSpec } from '../scene/scene.schema';
import { captionSpec } from '../language/caption.grammar';
import { applyFeedback } from '../language/feedback.applier';
import { renderFeedback } from '../language/feedback.grammar';
import { COLUMN_NAMES, FeedbackSchema, ROW_NAMES, type Feedback } from '../language/feedback.schema';
import { completeSpec } from '../language/scene-completion.util';
import type { OracleVerdict } from '../oracle/scene.oracle';
import { generateExamples } from './dataset.generator';

export const TextToImageCaseSchema = z.object({
  id: z.string(),
  prompt: z.string(),
  /** What the prompt names (all of shape, colour, size, cell per object, and the background). */
  spec: SceneSpecSchema,
  /** Noise seed for the generation, so runs are comparable. */
  seed: z.number().int().nonnegative(),
});
export type TextToImageCase = z.infer<typeof TextToImageCaseSchema>;

export const EditCaseSchema = z.object({
  id: z.string(),
  /** Round t−1: generate this first (text-to-image)… */
  sourcePrompt: z.string(),
  sourceSpec: SceneSpecSchema,
  /** …then the user says this… */
  feedback: FeedbackSchema,
  utterance: z.string(),
  /** …and round t (img2img from the round t−1 image) must show this. */
  targetPrompt: z.string(),
  targetSpec: SceneSpecSchema,
  seed: z.number().int().nonnegative(),
});
export type EditCase = z.infer<typeof EditCaseSchema>;

export const EvalSetSchema = z.object({
  version: z.literal(1),
  seed: z.number().int().nonnegative(),
  textToImage: z.array(TextToImageCaseSchema),
  edits: z.array(EditCaseSchema),
});
export type EvalSet = z.infer<typeof EvalSetSchema>;

/** One random edit of a fully specified spec (it may still fail to apply: off the grid, cell taken). */
function randomEdit(spec: SceneSpec, rng: Rng): Feedback {
  const o = rng.pick(spec.objects);
  const kind = rng.pick(['recolor', 'resize', 'move', 'shift', 'background', 'add', 'remove', 'reshape'] as const);
  const target = { shape: o.shape };
  switch (kind) {
    case 'recolor':
      return { kind, target, color: rng.pick(COLORS.filter((c) => c !== o.color && c !== spec.background)) };
    case 'resize':
      return { kind, target, direction: o.size === 'large' ? 'smaller' : o.size === 'small' ? 'bigger' : rng.pick(['bigger', 'smaller'] as const) };
    case 'move': {
      const { row, column } = positionCell(rng.pick(POSITIONS.filter((p) => p !== o.position)));
      return { kind, target, row: ROW_NAMES[row], column: COLUMN_NAMES[column] };
    }
    case 'shift':
      return { kind, target, direction: rng.pick(['up', 'down', 'left', 'right'] as const) };
    case 'background':
      return { kind, color: rng.pick(COLORS.filter((c) => c !== spec.background && spec.objects.every((x) => x.color !== c))) };
    case 'add':
      return {
        kind,
        object: {
          shape: rng.pick(SHAPES.filter((s) => spec.objects.every((x) => x.shape !== s))),
          color: rng.pick(COLORS.filter((c) => c !== spec.background)),
          size: rng.pick(SIZES),
          position: rng.pick(POSITIONS.filter((p) => spec.objects.every((x) => x.position !== p))),
        },
      };
    case 'remove':
      return { kind, target };
    case 'reshape':
      return { kind, target, shape: rng.pick(SHAPES.filter((s) => spec.objects.every((x) => x.shape !== s))) };
  }
}

export const EvalSetOptionsSchema = z.object({
  seed: z.number().int().nonnegative().default(0),
  textToImageCount: z.number().int().positive().default(500),
  editCount: z.number().int().positive().default(200),
});

/**
 * The held-out evaluation set for `eval:model`: text-to-image prompts and one-round edits,
 * all drawn from the test split (so never seen in training), deterministic in the seed.
 */
export function generateEvalSet(options: z.input<typeof EvalSetOptionsSchema> = {}): EvalSet {
  const o = EvalSetOptionsSchema.parse(options);
  const textToImage: TextToImageCase[] = [];
  for (const ex of generateExamples({ split: 'test', seed: o.seed, count: o.textToImageCount })) {
    textToImage.push({ id: `t2i-${ex.index}`, prompt: ex.caption, spec: specOf(ex.scene), seed: deriveSeed(o.seed, 't2i', ex.index) % 2 ** 31 });
  }
  const edits: EditCase[] = [];
  const rng = createRng(deriveSeed(o.seed, 'edits'));
  // A different stretch of the test stream than the text-to-image cases.
  for (const ex of generateExamples({ split: 'test', seed: o.seed, start: o.textToImageCount, count: o.editCount * 4 })) {
    if (edits.length >= o.editCount) break;
    const sourceSpec = specOf(ex.scene);
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const feedback = randomEdit(sourceSpec, rng);
        const { spec: targetSpec } = applyFeedback(sourceSpec, feedback);
        if (targetSpec.objects.length === 0) continue;
        completeSpec(targetSpec, rng); // throws if the target cannot be drawn (object in background colour)
        edits.push({
          id: `edit-${ex.index}`,
          sourcePrompt: captionSpec(sourceSpec),
          sourceSpec,
          feedback,
          utterance: renderFeedback(feedback, rng),
          targetPrompt: captionSpec(targetSpec),
          targetSpec,
          seed: deriveSeed(o.seed, 'edit', ex.index) % 2 ** 31,
        });
        break;
      } catch {
        // Off the grid, cell taken, shape taken, or no candidates: try another edit.
      }
    }
  }
  return EvalSetSchema.parse({ version: 1, seed: o.seed, textToImage, edits });
}

export interface EditVerdict {
  /** The asked change shows in the image. */
  changed: boolean;
  /** Every attribute the feedback did not touch is as before. */
  kept: boolean;
  success: boolean;
}

/**
 * Splits the oracle's verdict on the round-t image against the edit's target spec into "the
 * asked change happened" and "everything else stayed". The changed attributes are those on
 * which source and target specs differ.
 */
export function judgeEdit(edit: EditCase, verdict: OracleVerdict): EditVerdict {
  const changedKeys = new Set<string>();
  if (edit.sourceSpec.background !== edit.targetSpec.background) changedKeys.add('background');
  for (const t of edit.targetSpec.objects) {
    const s = edit.sourceSpec.objects.find((x) => x.shape === t.shape);
    if (!s) {
      changedKeys.add(`${t.shape}:*`);
      continue;
    }
    for (const a of ['color', 'size', 'position'] as const) if (s[a] !== t[a]) changedKeys.add(`${t.shape}:${a}`);
  }
  // A removed object: the change shows as "no extra object".
  const removed = edit.sourceSpec.objects.some((s) => !edit.targetSpec.objects.some((t) => t.shape === s.shape));
  let changed = true;
  let kept = true;
  for (const e of verdict.errors) {
    const key =
      e.kind === 'background' ? 'background' : e.kind === 'attribute' ? `${e.shape}:${e.attribute}` : e.kind === 'missing' ? `${e.shape}:*` : 'extra';
    const isChange =
      changedKeys.has(key) || (e.kind !== 'background' && e.kind !== 'extra' && changedKeys.has(`${(e as { shape: string }).shape}:*`)) || (key === 'extra' && removed);
    if (isChange) changed = false;
    else kept = false;
  }
  return { changed, kept, success: changed && kept };
}
