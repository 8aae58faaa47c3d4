import { createRng, type Rng } from '../util/rng.util';
import {
  BACKGROUND_PATTERNS,
  COLORS,
  MAX_ROTATION_DEG,
  OUTLINES,
  POSITIONS,
  SHADINGS,
  SHAPES,
  SIZES,
  SceneSchema,
  TEXTURES,
  type Color,
  type Scene,
  type SceneObject,
  type SceneStyle,
} from './scene.schema';

export interface SceneSamplerOptions {
  minObjects?: number;
  maxObjects?: number;
}

/** Uniform over each unnamed style attribute, independent of the named ones: a fixed prompt
 * therefore leaves every style open, which is what preference learning later shifts. */
export function sampleStyle(rng: Rng): SceneStyle {
  return {
    outline: rng.pick(OUTLINES),
    shading: rng.pick(SHADINGS),
    texture: rng.pick(TEXTURES),
    rotationDeg: Math.round(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)),
    backgroundPattern: rng.pick(BACKGROUND_PATTERNS),
  };
}

export function sampleObject(rng: Rng, background: Color, shape: SceneObject['shape'], position: SceneObject['position']): SceneObject {
  return {
    shape,
    color: rng.pick(COLORS.filter((c) => c !== background)),
    size: rng.pick(SIZES),
    position,
  };
}

/** Samples a valid scene: 1–3 objects with distinct shapes and grid cells, none in the background colour. */
export function sampleSceneWith(rng: Rng, options: SceneSamplerOptions = {}): Scene {
  const min = options.minObjects ?? 1;
  const max = options.maxObjects ?? 3;
  const count = min + rng.int(max - min + 1);
  const background = rng.pick(COLORS);
  const shapes = rng.shuffle(SHAPES).slice(0, count);
  const positions = rng.shuffle(POSITIONS).slice(0, count);
  const objects = shapes.map((shape, i) => sampleObject(rng, background, shape, positions[i]));
  return SceneSchema.parse({ background, objects, style: sampleStyle(rng) });
}

/** Same seed, same scene. */
export function sampleScene(seed: number, options: SceneSamplerOptions = {}): Scene {
  return sampleSceneWith(createRng(seed), options);
}
