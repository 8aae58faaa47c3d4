import { z } from 'zod';
import { createRng, type Rng } from '../util/rng.util';
import { sampleSceneWith } from '../scene/scene.sampler';
import {
  COLORS,
  MAX_OBJECTS,
  POSITIONS,
  SHAPES,
  SIZES,
  positionCell,
  specOf,
  type Scene,
  type SceneObject,
  type SceneSpec,
} from '../scene/scene.schema';
import { captionSpec } from './caption.grammar';
import { applyFeedback } from './feedback.applier';
import { renderFeedback } from './feedback.grammar';
import { COLUMN_NAMES, ROW_NAMES, type DialogueContext, type Feedback, type ObjectRef } from './feedback.schema';
import { completeSpec } from './scene-completion.util';

export const DialogueOptionsSchema = z.object({
  maxRounds: z.number().int().min(1).max(50).default(10),
  /** How many things the first prompt gets wrong about the hidden target. */
  minMistakes: z.number().int().min(0).default(1),
  maxMistakes: z.number().int().min(0).default(3),
  /** Chance that the first prompt leaves an object's size or position unsaid. */
  underspecifyRate: z.number().min(0).max(1).default(0.3),
  /** Chance per round that the simulated model draws the focused object wrong, prompting "no, red". */
  modelErrorRate: z.number().min(0).max(1).default(0.15),
});
export type DialogueOptions = z.infer<typeof DialogueOptionsSchema>;

export interface DialogueRound {
  /** 1-based round index t. */
  round: number;
  /** What the simulated user typed: the first prompt, then feedback. */
  utterance: string;
  feedback?: Feedback;
  /** The refined prompt p_t (canonical caption of `spec`). */
  prompt: string;
  spec: SceneSpec;
  /** The image the simulated model showed this round (named attributes + style). */
  shown: Scene;
  /** Set when the simulated model drew an attribute unlike the prompt asked. */
  modelError?: { shape: SceneObject['shape']; attribute: 'color' | 'size' | 'position' };
}

export interface Dialogue {
  seed: number;
  /** The scene the simulated user has in mind and never states outright. */
  target: Scene;
  rounds: DialogueRound[];
  reachedTarget: boolean;
}

function sameNamed(a: Scene, b: Scene): boolean {
  if (a.background !== b.background || a.objects.length !== b.objects.length) return false;
  return a.objects.every((o) => {
    const m = b.objects.find((x) => x.shape === o.shape);
    return !!m && m.color === o.color && m.size === o.size && m.position === o.position;
  });
}

function ref(shape: SceneObject['shape'], context: DialogueContext, rng: Rng, color?: SceneObject['color']): ObjectRef {
  if (context.focus === shape && rng.chance(0.6)) return 'it';
  return color && rng.chance(0.3) ? { shape, color } : { shape };
}

/** Every single feedback that brings `shown` one step closer to `target`. */
function improvingFeedbacks(shown: Scene, target: Scene, context: DialogueContext, rng: Rng): Feedback[] {
  const out: Feedback[] = [];
  if (shown.background !== target.background) out.push({ kind: 'background', color: target.background });
  for (const o of shown.objects) {
    const t = target.objects.find((x) => x.shape === o.shape);
    const r = ref(o.shape, context, rng, o.color);
    if (!t) {
      const replacement = target.objects.find((x) => x.position === o.position && !shown.objects.some((s) => s.shape === x.shape));
      out.push(replacement ? { kind: 'reshape', target: r, shape: replacement.shape } : { kind: 'remove', target: r });
      continue;
    }
    if (o.color !== t.color) out.push({ kind: 'recolor', target: r, color: t.color });
    if (o.size !== t.size) {
      const step = SIZES.indexOf(t.size) - SIZES.indexOf(o.size);
      out.push(Math.abs(step) === 1 && rng.chance(0.7) ? { kind: 'resize', target: r, direction: step > 0 ? 'bigger' : 'smaller' } : { kind: 'set-size', target: r, size: t.size });
    }
    if (o.position !== t.position) {
      const from = positionCell(o.position);
      const to = positionCell(t.position);
      const dr = to.row - from.row;
      const dc = to.column - from.column;
      if (Math.abs(dr) + Math.abs(dc) === 1 && rng.chance(0.4)) {
        out.push({ kind: 'shift', target: r, direction: dr < 0 ? 'up' : dr > 0 ? 'down' : dc < 0 ? 'left' : 'right' });
      } else if (dr === 0 && to.column !== 1 && rng.chance(0.5)) {
        out.push({ kind: 'move', target: r, column: COLUMN_NAMES[to.column] });
      } else if (dc === 0 && to.row !== 1 && rng.chance(0.5)) {
        out.push({ kind: 'move', target: r, row: ROW_NAMES[to.row] });
      } else {
        out.push({ kind: 'move', target: r, row: ROW_NAMES[to.row], column: COLUMN_NAMES[to.column] });
      }
    }
  }
  for (const t of target.objects) {
    if (!shown.objects.some((o) => o.shape === t.shape) && !shown.objects.some((o) => o.position === t.position && !target.objects.some((x) => x.shape === o.shape))) {
      out.push({ kind: 'add', object: { ...t } });
    }
  }
  return rng.shuffle(out);
}

/** A random edit of the named attributes (used to make the first prompt differ from the target). */
function randomEdit(scene: Scene, rng: Rng): Feedback {
  const o = rng.pick(scene.objects);
  const kinds = ['recolor', 'resize', 'move', 'background', 'remove', 'add'] as const;
  switch (rng.pick(kinds)) {
    case 'recolor':
      return { kind: 'recolor', target: { shape: o.shape }, color: rng.pick(COLORS) };
    case 'resize':
      return { kind: 'set-size', target: { shape: o.shape }, size: rng.pick(SIZES) };
    case 'move': {
      const { row, column } = positionCell(rng.pick(POSITIONS));
      return { kind: 'move', target: { shape: o.shape }, row: ROW_NAMES[row], column: COLUMN_NAMES[column] };
    }
    case 'background':
      return { kind: 'background', color: rng.pick(COLORS) };
    case 'remove':
      return { kind: 'remove', target: { shape: o.shape } };
    default:
      return { kind: 'add', object: { shape: rng.pick(SHAPES), color: rng.pick(COLORS), size: rng.pick(SIZES), position: rng.pick(POSITIONS) } };
  }
}

/** Applies a feedback and draws the result; undefined when either step is impossible. */
function tryStep(spec: SceneSpec, fb: Feedback, context: DialogueContext, rng: Rng, previous?: Scene) {
  try {
    const applied = applyFeedback(spec, fb, context);
    if (applied.spec.objects.length === 0 || applied.spec.objects.length > MAX_OBJECTS) return undefined;
    return { ...applied, shown: completeSpec(applied.spec, rng, previous) };
  } catch {
    return undefined;
  }
}

/** The simulated model gets one attribute of the focused object wrong. */
function withModelError(shown: Scene, shape: SceneObject['shape'], rng: Rng): { scene: Scene; attribute: 'color' | 'size' | 'position' } | undefined {
  const index = shown.objects.findIndex((o) => o.shape === shape);
  if (index < 0) return undefined;
  const o = shown.objects[index];
  const attribute = rng.pick(['color', 'size', 'position'] as const);
  const wrong = { ...o };
  if (attribute === 'color') wrong.color = rng.pick(COLORS.filter((c) => c !== o.color && c !== shown.background));
  if (attribute === 'size') wrong.size = rng.pick(SIZES.filter((s) => s !== o.size));
  if (attribute === 'position') {
    const free = POSITIONS.filter((p) => !shown.objects.some((x) => x.position === p));
    if (free.length === 0) return undefined;
    wrong.position = rng.pick(free);
  }
  return { scene: { ...shown, objects: shown.objects.map((x, j) => (j === index ? wrong : x)) }, attribute };
}

/**
 * A multi-round dialogue toward a hidden target scene: the simulated user's first prompt gets
 * a few things wrong or leaves them open, then each round gives one feedback that moves the
 * shown image closer to the target, or a correction ("no, red") when the simulated model drew
 * the last change wrong. Same seed, same dialogue.
 */
export function generateDialogue(seed: number, options: Partial<DialogueOptions> = {}): Dialogue {
  const o = DialogueOptionsSchema.parse(options);
  const rng = createRng(seed);
  const target = sampleSceneWith(rng);

  // Round 1: the user's first prompt, some edits away from what they really want.
  let spec = specOf(target);
  const mistakes = o.minMistakes + rng.int(Math.max(0, o.maxMistakes - o.minMistakes) + 1);
  for (let k = 0, tries = 0; k < mistakes && tries < 50; tries++) {
    const step = tryStep(spec, randomEdit(target, rng), {}, rng);
    if (step) {
      spec = step.spec;
      k++;
    }
  }
  spec = {
    ...spec,
    objects: spec.objects.map((x) => {
      const { size, position, ...named } = x;
      return {
        ...named,
        ...(rng.chance(o.underspecifyRate) ? {} : { size }),
        ...(rng.chance(o.underspecifyRate) ? {} : { position }),
      };
    }),
  };
  let shown = completeSpec(spec, rng);
  let context: DialogueContext = {};
  const rounds: DialogueRound[] = [{ round: 1, utterance: captionSpec(spec, rng), prompt: captionSpec(spec), spec, shown }];

  while (rounds.length < o.maxRounds && !sameNamed(shown, target)) {
    const last = rounds[rounds.length - 1];
    let feedback: Feedback | undefined;
    let next: ReturnType<typeof tryStep>;
    if (last.modelError) {
      // The user repeats the value the model missed; the prompt already asks for it.
      const wanted = target.objects.find((x) => x.shape === last.modelError?.shape);
      if (wanted) {
        const a = last.modelError.attribute;
        feedback =
          a === 'color'
            ? { kind: 'correction', value: { attribute: 'color', color: wanted.color } }
            : a === 'size'
              ? { kind: 'correction', value: { attribute: 'size', size: wanted.size } }
              : { kind: 'correction', value: { attribute: 'position', position: wanted.position } };
        const previousCorrect = { ...shown, objects: shown.objects.map((x) => (x.shape === wanted.shape ? { ...x, [a]: wanted[a] } : x)) };
        next = tryStep(spec, feedback, context, rng, previousCorrect);
        if (!next) feedback = undefined;
      }
    }
    if (!feedback) {
      for (const candidate of improvingFeedbacks(shown, target, context, rng)) {
        next = tryStep(spec, candidate, context, rng, shown);
        if (next) {
          feedback = candidate;
          break;
        }
      }
    }
    if (!feedback || !next) break;
    spec = next.spec;
    context = next.context;
    shown = next.shown;
    let modelError: DialogueRound['modelError'];
    if (context.focus && context.focus !== 'background' && feedback.kind !== 'correction' && rng.chance(o.modelErrorRate)) {
      const erred = withModelError(shown, context.focus, rng);
      if (erred) {
        shown = erred.scene;
        modelError = { shape: context.focus, attribute: erred.attribute };
      }
    }
    rounds.push({ round: rounds.length + 1, utterance: renderFeedback(feedback, rng), feedback, prompt: captionSpec(spec), spec, shown, modelError });
  }
  return { seed, target, rounds, reachedTarget: sameNamed(shown, target) };
}
