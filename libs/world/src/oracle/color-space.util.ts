import { COLORS, type Color } from '../scene/scene.schema';
import { PALETTE, shadeRgb } from '../scene/palette.constants';

export type Lab = [number, number, number];

/** sRGB (0..255) → CIELAB (D65), after https://en.wikipedia.org/wiki/CIELAB_color_space. */
export function rgbToLab(r: number, g: number, b: number): Lab {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const R = lin(r);
  const G = lin(g);
  const B = lin(b);
  const x = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/**
 * Each named colour as the segment of its shades the renderer can produce (shading and
 * textures move a colour up to ~20% toward white or black), sampled every 5%.
 */
const SHADE_STEPS = [-0.2, -0.15, -0.1, -0.05, 0, 0.05, 0.1, 0.15, 0.2];
const PALETTE_LAB: readonly [Color, Lab][] = COLORS.flatMap((c) =>
  SHADE_STEPS.map((t) => [c, rgbToLab(...shadeRgb(PALETTE[c], t))] as [Color, Lab]),
);

/** Nearest named colour: CIELAB distance to the closest shade of each palette colour. */
export function nearestColor(rgb: readonly [number, number, number]): { color: Color; distance: number } {
  const [L, a, b] = rgbToLab(rgb[0], rgb[1], rgb[2]);
  let best: Color = 'gray';
  let bestD = Infinity;
  for (const [name, [L2, a2, b2]] of PALETTE_LAB) {
    const d = Math.hypot(L - L2, a - a2, b - b2);
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  return { color: best, distance: bestD };
}
