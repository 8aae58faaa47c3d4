import { z } from 'zod';

/**
 * The scene world's vocabulary. Everything a prompt can name is listed here; the style
 * attributes further down are deliberately absent from every grammar, so a community can
 * develop tastes (e.g. "outlined, striped shapes") that no prompt word expresses.
 */
export const SHAPES = ['circle', 'square', 'triangle', 'star', 'heart'] as const;
export const COLORS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'white', 'gray', 'black'] as const;
export const SIZES = ['small', 'medium', 'large'] as const;
export const ROWS = ['top', 'middle', 'bottom'] as const;
export const COLUMNS = ['left', 'center', 'right'] as const;
/** 3×3 grid cells, row-major: index = row * 3 + column. */
export const POSITIONS = [
  'top-left', 'top-center', 'top-right',
  'middle-left', 'center', 'middle-right',
  'bottom-left', 'bottom-center', 'bottom-right',
] as const;

export const MAX_OBJECTS = 3;

export const ShapeSchema = z.enum(SHAPES);
export const ColorSchema = z.enum(COLORS);
export const SizeSchema = z.enum(SIZES);
export const PositionSchema = z.enum(POSITIONS);

export type Shape = z.infer<typeof ShapeSchema>;
export type Color = z.infer<typeof ColorSchema>;
export type Size = z.infer<typeof SizeSchema>;
export type Position = z.infer<typeof PositionSchema>;

/** One object, every named attribute fixed. */
export const SceneObjectSchema = z.object({
  shape: ShapeSchema,
  color: ColorSchema,
  size: SizeSchema,
  position: PositionSchema,
});
export type SceneObject = z.infer<typeof SceneObjectSchema>;

/** Style attributes no grammar names (see the module comment). */
export const OUTLINES = ['none', 'dark', 'light'] as const;
export const SHADINGS = ['flat', 'linear', 'radial'] as const;
export const TEXTURES = ['none', 'stripes', 'dots', 'speckle'] as const;
export const BACKGROUND_PATTERNS = ['flat', 'gradient'] as const;
/** Rotation is limited so that shape identity and the 3×3 layout stay unambiguous. */
export const MAX_ROTATION_DEG = 25;

export const SceneStyleSchema = z.object({
  outline: z.enum(OUTLINES),
  shading: z.enum(SHADINGS),
  texture: z.enum(TEXTURES),
  rotationDeg: z.number().min(-MAX_ROTATION_DEG).max(MAX_ROTATION_DEG),
  backgroundPattern: z.enum(BACKGROUND_PATTERNS),
});
export type SceneStyle = z.infer<typeof SceneStyleSchema>;

export const DEFAULT_STYLE: SceneStyle = {
  outline: 'none',
  shading: 'flat',
  texture: 'none',
  rotationDeg: 0,
  backgroundPattern: 'flat',
};

function objectsAreDistinct(objects: readonly { shape: Shape; position?: Position }[]): boolean {
  const shapes = new Set(objects.map((o) => o.shape));
  const positions = objects.flatMap((o) => (o.position ? [o.position] : []));
  return shapes.size === objects.length && new Set(positions).size === positions.length;
}

const DISTINCT_MESSAGE = 'objects need distinct shapes (so "the circle" names one object) and distinct positions';

/**
 * A fully specified scene. Shapes are unique within a scene so that feedback such as
 * "make the circle bigger" always refers to exactly one object; positions are unique
 * grid cells so that objects never overlap.
 */
export const SceneSchema = z
  .object({
    background: ColorSchema,
    objects: z.array(SceneObjectSchema).min(1).max(MAX_OBJECTS),
    style: SceneStyleSchema,
  })
  .refine((s) => objectsAreDistinct(s.objects), DISTINCT_MESSAGE)
  .refine((s) => s.objects.every((o) => o.color !== s.background), 'an object cannot have the background colour');
export type Scene = z.infer<typeof SceneSchema>;

/** What a prompt says: a scene where every attribute but the shape may be left open. */
export const ObjectSpecSchema = z.object({
  shape: ShapeSchema,
  color: ColorSchema.optional(),
  size: SizeSchema.optional(),
  position: PositionSchema.optional(),
});
export type ObjectSpec = z.infer<typeof ObjectSpecSchema>;

export const SceneSpecSchema = z
  .object({
    background: ColorSchema.optional(),
    objects: z.array(ObjectSpecSchema).max(MAX_OBJECTS),
  })
  .refine((s) => objectsAreDistinct(s.objects), DISTINCT_MESSAGE);
export type SceneSpec = z.infer<typeof SceneSpecSchema>;

export const NAMED_ATTRIBUTES = ['shape', 'color', 'size', 'position'] as const;
export type ObjectAttribute = (typeof NAMED_ATTRIBUTES)[number];

/** The named part of a scene, as a spec (drops the style). */
export function specOf(scene: Scene): SceneSpec {
  return { background: scene.background, objects: scene.objects.map((o) => ({ ...o })) };
}

export function positionCell(position: Position): { row: number; column: number } {
  const index = POSITIONS.indexOf(position);
  return { row: Math.floor(index / 3), column: index % 3 };
}

export function positionAt(row: number, column: number): Position {
  return POSITIONS[row * 3 + column];
}

/** A canonical key of the named attributes (order-free): used for held-out splits. */
export function specKey(spec: SceneSpec): string {
  const objects = [...spec.objects]
    .sort((a, b) => SHAPES.indexOf(a.shape) - SHAPES.indexOf(b.shape))
    .map((o) => `${o.size ?? '?'}.${o.color ?? '?'}.${o.shape}@${o.position ?? '?'}`);
  return `${spec.background ?? '?'}|${objects.join('+')}`;
}
