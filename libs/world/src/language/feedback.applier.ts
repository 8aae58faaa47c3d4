import {
  MAX_OBJECTS,
  SIZES,
  positionAt,
  positionCell,
  type ObjectSpec,
  type SceneSpec,
  type Shape,
} from '../scene/scene.schema';
import { COLUMN_NAMES, ROW_NAMES, type DialogueContext, type Feedback, type ObjectRef } from './feedback.schema';

export enum FeedbackErrorCode {
  UnknownTarget = 'unknown_target',
  AmbiguousTarget = 'ambiguous_target',
  DuplicateShape = 'duplicate_shape',
  CellOccupied = 'cell_occupied',
  TooManyObjects = 'too_many_objects',
  OffGrid = 'off_grid',
}

/** A feedback that cannot apply to this scene; `code` lets a chat front end answer helpfully. */
export class FeedbackError extends Error {
  constructor(
    readonly code: FeedbackErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FeedbackError';
  }
}

export interface AppliedFeedback {
  spec: SceneSpec;
  context: DialogueContext;
}

function resolveTarget(spec: SceneSpec, ref: ObjectRef, context: DialogueContext): number {
  if (ref === 'it') {
    if (context.focus && context.focus !== 'background') {
      const i = spec.objects.findIndex((o) => o.shape === context.focus);
      if (i >= 0) return i;
    }
    if (spec.objects.length === 1) return 0;
    throw new FeedbackError(FeedbackErrorCode.AmbiguousTarget, 'which object do you mean?');
  }
  const i = spec.objects.findIndex((o) => o.shape === ref.shape);
  if (i < 0) throw new FeedbackError(FeedbackErrorCode.UnknownTarget, `there is no ${ref.shape} in the scene`);
  return i;
}

function assertCellFree(spec: SceneSpec, index: number, position: ObjectSpec['position']): void {
  if (position && spec.objects.some((o, j) => j !== index && o.position === position)) {
    throw new FeedbackError(FeedbackErrorCode.CellOccupied, `another object is already ${position}`);
  }
}

function withObject(spec: SceneSpec, index: number, object: ObjectSpec): SceneSpec {
  return { ...spec, objects: spec.objects.map((o, j) => (j === index ? object : { ...o })) };
}

/** An axis the prompt left open counts as the middle cell: that is where "move it up" starts from. */
function moveObject(spec: SceneSpec, index: number, row: number | undefined, column: number | undefined): SceneSpec {
  const current = spec.objects[index].position;
  const cell = current ? positionCell(current) : { row: 1, column: 1 };
  const position = positionAt(row ?? cell.row, column ?? cell.column);
  assertCellFree(spec, index, position);
  return withObject(spec, index, { ...spec.objects[index], position });
}

function stepSize(size: ObjectSpec['size'], direction: 'bigger' | 'smaller'): ObjectSpec['size'] {
  // An unnamed size reads as "medium", so "bigger" means large.
  const i = SIZES.indexOf(size ?? 'medium');
  return SIZES[Math.max(0, Math.min(SIZES.length - 1, i + (direction === 'bigger' ? 1 : -1)))];
}

function applyToObject(spec: SceneSpec, feedback: Feedback, context: DialogueContext): AppliedFeedback {
  switch (feedback.kind) {
    case 'background':
      return { spec: { ...spec, background: feedback.color }, context: { focus: 'background' } };
    case 'add': {
      if (spec.objects.length >= MAX_OBJECTS) throw new FeedbackError(FeedbackErrorCode.TooManyObjects, `at most ${MAX_OBJECTS} objects`);
      if (spec.objects.some((o) => o.shape === feedback.object.shape)) {
        throw new FeedbackError(FeedbackErrorCode.DuplicateShape, `there already is a ${feedback.object.shape}`);
      }
      assertCellFree(spec, -1, feedback.object.position);
      return { spec: { ...spec, objects: [...spec.objects, { ...feedback.object }] }, context: { focus: feedback.object.shape } };
    }
    case 'correction':
      return applyCorrection(spec, feedback.value, context);
    default:
      break;
  }
  const index = resolveTarget(spec, feedback.target, context);
  const object = spec.objects[index];
  const focus = (shape: Shape): DialogueContext => ({ focus: shape });
  switch (feedback.kind) {
    case 'remove':
      return { spec: { ...spec, objects: spec.objects.filter((_, j) => j !== index) }, context: {} };
    case 'resize':
      return { spec: withObject(spec, index, { ...object, size: stepSize(object.size, feedback.direction) }), context: focus(object.shape) };
    case 'set-size':
      return { spec: withObject(spec, index, { ...object, size: feedback.size }), context: focus(object.shape) };
    case 'recolor':
      return { spec: withObject(spec, index, { ...object, color: feedback.color }), context: focus(object.shape) };
    case 'reshape':
      if (spec.objects.some((o, j) => j !== index && o.shape === feedback.shape)) {
        throw new FeedbackError(FeedbackErrorCode.DuplicateShape, `there already is a ${feedback.shape}`);
      }
      return { spec: withObject(spec, index, { ...object, shape: feedback.shape }), context: focus(feedback.shape) };
    case 'move': {
      const row = feedback.row ? ROW_NAMES.indexOf(feedback.row) : undefined;
      const column = feedback.column ? COLUMN_NAMES.indexOf(feedback.column) : undefined;
      return { spec: moveObject(spec, index, row, column), context: focus(object.shape) };
    }
    case 'shift': {
      const cell = object.position ? positionCell(object.position) : { row: 1, column: 1 };
      const dRow = feedback.direction === 'up' ? -1 : feedback.direction === 'down' ? 1 : 0;
      const dColumn = feedback.direction === 'left' ? -1 : feedback.direction === 'right' ? 1 : 0;
      const row = cell.row + dRow;
      const column = cell.column + dColumn;
      if (row < 0 || row > 2 || column < 0 || column > 2) {
        throw new FeedbackError(FeedbackErrorCode.OffGrid, `the ${object.shape} cannot move further ${feedback.direction}`);
      }
      return { spec: moveObject(spec, index, row, column), context: focus(object.shape) };
    }
  }
}

function applyCorrection(spec: SceneSpec, value: Extract<Feedback, { kind: 'correction' }>['value'], context: DialogueContext): AppliedFeedback {
  if (value.attribute === 'color' && context.focus === 'background') {
    return { spec: { ...spec, background: value.color }, context };
  }
  const ref: ObjectRef = 'it';
  switch (value.attribute) {
    case 'color':
      return applyToObject(spec, { kind: 'recolor', target: ref, color: value.color }, context);
    case 'size':
      return applyToObject(spec, { kind: 'set-size', target: ref, size: value.size }, context);
    case 'shape':
      return applyToObject(spec, { kind: 'reshape', target: ref, shape: value.shape }, context);
    case 'position': {
      const { row, column } = positionCell(value.position);
      return applyToObject(spec, { kind: 'move', target: ref, row: ROW_NAMES[row], column: COLUMN_NAMES[column] }, context);
    }
  }
}

/**
 * Applies one round's feedback to the prompt's scene spec — the rule-based stand-in for the
 * paper's LLM_p(p_{t-1}, feedback_t) (docs/vca-method.md §1). Pure: returns a new spec and the
 * new dialogue focus; throws FeedbackError when the feedback cannot apply.
 */
export function applyFeedback(spec: SceneSpec, feedback: Feedback, context: DialogueContext = {}): AppliedFeedback {
  return applyToObject(spec, feedback, context);
}
