import { z } from 'zod';
import { ColorSchema, ObjectSpecSchema, PositionSchema, ShapeSchema, SizeSchema } from '../scene/scene.schema';

/** Which object a feedback is about: a shape ("the circle", unique within a scene) or "it". */
export const ObjectRefSchema = z.union([
  z.object({ shape: ShapeSchema, color: ColorSchema.optional() }),
  z.literal('it'),
]);
export type ObjectRef = z.infer<typeof ObjectRefSchema>;

export const ROW_NAMES = ['top', 'middle', 'bottom'] as const;
export const COLUMN_NAMES = ['left', 'center', 'right'] as const;
export const DIRECTIONS = ['up', 'down', 'left', 'right'] as const;

/** A correction ("no, red") re-states one value for whatever the previous round was about. */
export const CorrectionValueSchema = z.discriminatedUnion('attribute', [
  z.object({ attribute: z.literal('color'), color: ColorSchema }),
  z.object({ attribute: z.literal('size'), size: SizeSchema }),
  z.object({ attribute: z.literal('position'), position: PositionSchema }),
  z.object({ attribute: z.literal('shape'), shape: ShapeSchema }),
]);
export type CorrectionValue = z.infer<typeof CorrectionValueSchema>;

export const FeedbackSchema = z.discriminatedUnion('kind', [
  /** "make the circle bigger" / "shrink it" */
  z.object({ kind: z.literal('resize'), target: ObjectRefSchema, direction: z.enum(['bigger', 'smaller']) }),
  /** "make the star small" */
  z.object({ kind: z.literal('set-size'), target: ObjectRefSchema, size: SizeSchema }),
  /** "move it to the left" (column only), "put the heart in the top right" (both axes) */
  z.object({
    kind: z.literal('move'),
    target: ObjectRefSchema,
    row: z.enum(ROW_NAMES).optional(),
    column: z.enum(COLUMN_NAMES).optional(),
  }),
  /** "move it up", "a bit further right": one grid cell */
  z.object({ kind: z.literal('shift'), target: ObjectRefSchema, direction: z.enum(DIRECTIONS) }),
  /** "make the circle blue" */
  z.object({ kind: z.literal('recolor'), target: ObjectRefSchema, color: ColorSchema }),
  /** "turn the square into a star" */
  z.object({ kind: z.literal('reshape'), target: ObjectRefSchema, shape: ShapeSchema }),
  /** "change the background to green" */
  z.object({ kind: z.literal('background'), color: ColorSchema }),
  /** "add a small blue star" */
  z.object({ kind: z.literal('add'), object: ObjectSpecSchema }),
  /** "remove the square" */
  z.object({ kind: z.literal('remove'), target: ObjectRefSchema }),
  /** "no, red" */
  z.object({ kind: z.literal('correction'), value: CorrectionValueSchema }),
]);
export type Feedback = z.infer<typeof FeedbackSchema>;
export type FeedbackKind = Feedback['kind'];

/** What the dialogue is currently about, so "it" and "no, red" can be resolved. */
export const DialogueContextSchema = z.object({
  focus: z.union([ShapeSchema, z.literal('background')]).optional(),
});
export type DialogueContext = z.infer<typeof DialogueContextSchema>;
