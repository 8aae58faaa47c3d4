import type { Rng } from '../util/rng.util';
import { sampleStyle } from '../scene/scene.sampler';
import { COLORS, POSITIONS, SIZES, SceneSchema, type Scene, type SceneObject, type SceneSpec } from '../scene/scene.schema';

/**
 * Fills what a prompt left open, as a generator would: attributes the previous image already
 * showed are kept (img2img keeps them), the rest are drawn at random. Throws (zod) when the
 * spec itself cannot be drawn, e.g. an object in the background colour.
 */
export function completeSpec(spec: SceneSpec, rng: Rng, previous?: Scene): Scene {
  const previousOf = (shape: SceneObject['shape']) => previous?.objects.find((o) => o.shape === shape);
  const usedColors = new Set(spec.objects.flatMap((o) => (o.color ? [o.color] : [])));
  const background =
    spec.background ??
    (previous && !usedColors.has(previous.background) ? previous.background : rng.pick(COLORS.filter((c) => !usedColors.has(c))));
  const taken = new Set(spec.objects.flatMap((o) => (o.position ? [o.position] : [])));
  const objects: SceneObject[] = spec.objects.map((o) => {
    const before = previousOf(o.shape);
    const color = o.color ?? (before && before.color !== background ? before.color : rng.pick(COLORS.filter((c) => c !== background)));
    const size = o.size ?? before?.size ?? rng.pick(SIZES);
    let position = o.position;
    if (!position) {
      position = before && !taken.has(before.position) ? before.position : rng.pick(POSITIONS.filter((p) => !taken.has(p)));
      taken.add(position);
    }
    return { shape: o.shape, color, size, position };
  });
  return SceneSchema.parse({ background, objects, style: previous?.style ?? sampleStyle(rng) });
}
