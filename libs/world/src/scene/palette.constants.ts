import type { Color } from './scene.schema';

export type Rgb = readonly [number, number, number];

/**
 * sRGB values of the named colours. Chosen so that every pair stays far apart in CIELAB
 * (smallest pair, orange/yellow, is ΔE≈35) even after ±20% shading, which the oracle relies on.
 */
export const PALETTE: Readonly<Record<Color, Rgb>> = {
  red: [220, 38, 38],
  orange: [245, 140, 20],
  yellow: [250, 222, 40],
  green: [34, 168, 68],
  blue: [37, 88, 222],
  purple: [139, 58, 190],
  pink: [246, 132, 196],
  white: [246, 246, 246],
  gray: [128, 128, 128],
  black: [24, 24, 24],
};

export function rgbCss(rgb: Rgb): string {
  return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
}

/** Moves a colour toward white (amount > 0) or black (amount < 0), amount in [-1, 1]. */
export function shadeRgb(rgb: Rgb, amount: number): Rgb {
  const target = amount > 0 ? 255 : 0;
  const a = Math.abs(amount);
  return [0, 1, 2].map((i) => Math.round(rgb[i] + (target - rgb[i]) * a)) as unknown as Rgb;
}

/** Relative luminance proxy (Rec. 601 luma), 0..255. */
export function luma(rgb: Rgb): number {
  return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
}

export function rgbDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}
