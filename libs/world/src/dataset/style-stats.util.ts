import type { ParsedScene } from '../oracle/image.parser';

export interface StyleDistribution {
  objects: number;
  /** Shares in [0, 1] over all objects read. */
  outline: Record<'none' | 'dark' | 'light', number>;
  textured: number;
  shaded: number;
  /** Share of non-circular objects per rotation bucket (degrees, bucket start). */
  rotation: Record<string, number>;
}

const ROTATION_BUCKETS = [-25, -15, -5, 5, 15] as const;

/**
 * Distribution of the unnamed style attributes the oracle reads in a set of images — the
 * diversity report of `eval:model` (with the prompt fixed, these should vary across seeds).
 */
export function styleDistribution(scenes: readonly ParsedScene[]): StyleDistribution {
  const objects = scenes.flatMap((s) => s.objects);
  const n = Math.max(1, objects.length);
  const outline = { none: 0, dark: 0, light: 0 };
  let textured = 0;
  let shaded = 0;
  const rotation: Record<string, number> = Object.fromEntries(ROTATION_BUCKETS.map((b) => [String(b), 0]));
  let rotated = 0;
  for (const o of objects) {
    outline[o.style.outline] += 1 / n;
    if (o.style.textured) textured++;
    if (o.style.shaded) shaded++;
    if (o.rotationDeg !== undefined) {
      const bucket = [...ROTATION_BUCKETS].reverse().find((b) => o.rotationDeg! >= b) ?? ROTATION_BUCKETS[0];
      rotation[String(bucket)]++;
      rotated++;
    }
  }
  for (const k of Object.keys(rotation)) rotation[k] /= Math.max(1, rotated);
  return { objects: objects.length, outline, textured: textured / n, shaded: shaded / n, rotation };
}
