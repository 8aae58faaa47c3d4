import { z } from 'zod';
import type { RasterImage } from '../render/image.types';
import { MAX_ROTATION_DEG, POSITIONS, SHAPES, type Color, type Position, type Shape, type Size } from '../scene/scene.schema';
import { SHAPE_AREA_FACTOR, SIZE_RADIUS, placePolygon } from '../scene/shape-geometry.util';
import { nearestColor } from './color-space.util';
import { connectedComponents, countMask, dilate, erode, fillHoles, type WindowMask } from './pixel-mask.util';

export const ImageParserConfigSchema = z.object({
  /** RGB distance from the background model above which a (smoothed) pixel is foreground. */
  foregroundThreshold: z.number().positive().default(40),
  /** Template rotations tried for non-circular shapes, in degrees. */
  rotationStepDeg: z.number().positive().default(5),
  /** Components smaller than this share of the smallest small shape's area are noise. */
  minAreaShare: z.number().min(0).max(1).default(0.5),
  maxObjects: z.number().int().positive().default(6),
  /** Templates are compared under 1..n 3×3 box passes, to match images blurrier than renders. */
  maxTemplateBlurPasses: z.number().int().min(1).max(4).default(2),
});
export type ImageParserConfig = z.infer<typeof ImageParserConfigSchema>;

export interface ParsedObject {
  shape: Shape;
  color: Color;
  size: Size;
  position: Position;
  /** Centroid as fractions of width and height. */
  centroid: { x: number; y: number };
  /** Circumradius implied by the area and the shape, as a fraction of the width. */
  radius: number;
  areaPx: number;
  /** IoU of the object's mask with the best shape template (1 = perfect). */
  shapeFit: number;
  /** CIELAB distance (lightness half-weighted) of the measured colour to the named one. */
  colorDistance: number;
  /** Rotation of the best template; undefined for circles. */
  rotationDeg?: number;
  style: { outline: 'none' | 'dark' | 'light'; textured: boolean; shaded: boolean };
}

export interface ParsedScene {
  background: Color;
  objects: ParsedObject[];
}

type Rgb = [number, number, number];

interface SoftWindow {
  x0: number;
  y0: number;
  w: number;
  h: number;
  data: Float32Array;
}

/** Thresholds halfway (geometrically) between the renderer's size radii. */
const SMALL_MEDIUM = Math.sqrt(SIZE_RADIUS.small * SIZE_RADIUS.medium);
const MEDIUM_LARGE = Math.sqrt(SIZE_RADIUS.medium * SIZE_RADIUS.large);

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** Solves the 3×3 system A·x = b by Cramer's rule (normal equations of a plane fit). */
function solve3(a: number[][], b: number[]): number[] | undefined {
  const det = (m: number[][]) =>
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const d = det(a);
  if (Math.abs(d) < 1e-9) return undefined;
  return [0, 1, 2].map((k) => det(a.map((row, i) => row.map((v, j) => (j === k ? b[i] : v)))) / d);
}

/** Least-squares plane v ≈ c0 + c1·x + c2·y over the given samples. */
function fitPlane(xs: number[], ys: number[], vs: number[]): [number, number, number] {
  const n = vs.length;
  let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, sv = 0, sxv = 0, syv = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i], y = ys[i], v = vs[i];
    sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y; sv += v; sxv += x * v; syv += y * v;
  }
  const c = solve3([[n, sx, sy], [sx, sxx, sxy], [sy, sxy, syy]], [sv, sxv, syv]);
  return c ? [c[0], c[1], c[2]] : [n > 0 ? sv / n : 0, 0, 0];
}

/**
 * The analytic oracle's eye: reads an image back into a scene description using geometry and
 * colour only (no learned model).
 *
 * 1. Smooth with a 3×3 box (noise), model the background as a colour plane fitted to the
 *    border pixels (gradient backgrounds), name it by the nearest palette colour.
 * 2. Foreground = smoothed distance to the background model above a threshold; 8-connected
 *    components above a minimum area are objects.
 * 3. Per object, re-threshold at the midpoint between background and object colour (so blur,
 *    which spreads edges symmetrically, keeps the area), fill texture holes, then read colour
 *    (median of the eroded interior), shape (best IoU against the renderer's own polygons over
 *    the allowed rotations, scaled to the measured area), size (circumradius implied by the
 *    area and the shape) and grid cell (centroid).
 */
export class ImageParser {
  readonly config: Readonly<ImageParserConfig>;

  constructor(config: Partial<ImageParserConfig> = {}) {
    this.config = Object.freeze(ImageParserConfigSchema.parse(config));
  }

  parse(image: RasterImage): ParsedScene {
    const { width: W, height: H, channels: ch } = image;
    const N = W * H;
    const orig: Float32Array[] = [0, 1, 2].map((c) => {
      const plane = new Float32Array(N);
      for (let i = 0; i < N; i++) plane[i] = image.data[i * ch + c];
      return plane;
    });
    const smooth = orig.map((p) => boxBlur3(p, W, H));

    // 1. Background plane per channel, fitted to border pixels close to the border's median colour.
    const ring = Math.max(1, Math.round(W / 32));
    const border: number[] = [];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (x < ring || y < ring || x >= W - ring || y >= H - ring) border.push(y * W + x);
    const m = [0, 1, 2].map((c) => median(border.map((i) => smooth[c][i])));
    const inliers = border.filter((i) => Math.hypot(smooth[0][i] - m[0], smooth[1][i] - m[1], smooth[2][i] - m[2]) < 40);
    const samples = inliers.length >= border.length * 0.3 ? inliers : border;
    const xs = samples.map((i) => (i % W) / W);
    const ys = samples.map((i) => Math.floor(i / W) / H);
    const planes = [0, 1, 2].map((c) => fitPlane(xs, ys, samples.map((i) => smooth[c][i])));
    const bgMap = planes.map(([c0, c1, c2]) => {
      const plane = new Float32Array(N);
      for (let i = 0; i < N; i++) plane[i] = c0 + (c1 * (i % W)) / W + (c2 * Math.floor(i / W)) / H;
      return plane;
    });
    const bgAt = (i: number, c: number) => bgMap[c][i];
    const bgCenter: Rgb = [0, 1, 2].map((c) => planes[c][0] + planes[c][1] * 0.5 + planes[c][2] * 0.5) as Rgb;
    const background = nearestColor(bgCenter).color;

    // 2. Coarse foreground and its components.
    const coarse = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      const d = Math.hypot(smooth[0][i] - bgAt(i, 0), smooth[1][i] - bgAt(i, 1), smooth[2][i] - bgAt(i, 2));
      coarse[i] = d > this.config.foregroundThreshold ? 1 : 0;
    }
    const minSmallArea = Math.min(...SHAPES.map((s) => SHAPE_AREA_FACTOR[s])) * (SIZE_RADIUS.small * W) ** 2;
    const components = connectedComponents(coarse, W, H)
      .filter((c) => c.length >= this.config.minAreaShare * minSmallArea)
      .sort((a, b) => b.length - a.length)
      .slice(0, this.config.maxObjects);

    const objects: ParsedObject[] = [];
    for (const pixels of components) {
      const object = this.readObject(pixels, W, H, orig, smooth, bgAt);
      if (object) objects.push(object);
    }
    return { background, objects };
  }

  private readObject(
    pixels: number[],
    W: number,
    H: number,
    orig: Float32Array[],
    smooth: Float32Array[],
    bgAt: (i: number, c: number) => number,
  ): ParsedObject | undefined {
    const pad = 3;
    let minX = W, minY = H, maxX = 0, maxY = 0;
    for (const i of pixels) {
      const x = i % W;
      const y = (i - x) / W;
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
    const x0 = Math.max(0, minX - pad);
    const y0 = Math.max(0, minY - pad);
    const w = Math.min(W, maxX + pad + 1) - x0;
    const h = Math.min(H, maxY + pad + 1) - y0;
    const toImage = (k: number) => (y0 + Math.floor(k / w)) * W + x0 + (k % w);
    const component: WindowMask = { x0, y0, w, h, data: new Uint8Array(w * h) };
    for (const i of pixels) component.data[(Math.floor(i / W) - y0) * w + (i % W) - x0] = 1;

    const medianColor = (mask: WindowMask, planes: Float32Array[]): Rgb => {
      const idx: number[] = [];
      for (let k = 0; k < mask.data.length; k++) if (mask.data[k]) idx.push(toImage(k));
      return [0, 1, 2].map((c) => median(idx.map((i) => planes[c][i]))) as Rgb;
    };
    const interiorOf = (mask: WindowMask, steps = 1) => {
      for (let s = steps; s > 0; s--) {
        const eroded = erode(mask, s);
        if (countMask(eroded) >= 6) return eroded;
      }
      return mask;
    };

    // 3a. Object colour from the coarse interior, then the midpoint re-threshold.
    // The deepest pixels (a blurred small star is only at full colour near its centre), read
    // unsmoothed so our own 3×3 smoothing does not dilute them.
    const first = medianColor(deepest(component, 2), orig);
    const reach = dilate(component, 2);
    const refined: WindowMask = { x0, y0, w, h, data: new Uint8Array(w * h) };
    const v: Rgb = [0, 0, 0];
    const centreIndex = pixels[pixels.length >> 1];
    for (let c = 0; c < 3; c++) v[c] = first[c] - bgAt(centreIndex, c);
    const vv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    if (vv < 1) return undefined;
    // Share ∈ [0, 1] of "not background" per unsmoothed pixel: distance to the background
    // model over the object's contrast. An antialiased edge pixel of coverage c scores c; an
    // outline or texture of a third colour scores by how far it stands from the background.
    const contrast = Math.sqrt(vv);
    const share = new Float32Array(w * h);
    for (let k = 0; k < share.length; k++) {
      const i = toImage(k);
      const d = Math.hypot(orig[0][i] - bgAt(i, 0), orig[1][i] - bgAt(i, 1), orig[2][i] - bgAt(i, 2));
      share[k] = Math.min(1, d / contrast);
    }
    // `soft` is a 3×3-averaged coverage map of the object: antialiasing, blur and noise all
    // average out in it, and its sum is the object's area.
    const soft = boxBlur3(share, w, h);
    for (let k = 0; k < soft.length; k++) {
      if (!reach.data[k]) soft[k] = 0;
      refined.data[k] = soft[k] > 0.5 ? 1 : 0;
    }
    const mask = fillHoles(refined);
    // Area through a steepened coverage, clamp(2·soft − 0.5): a linear edge ramp keeps its
    // midpoint (blur-invariant), while an object colour estimated up to ±25% off still saturates
    // to 1 inside (a plain Σ soft would scale with that error).
    let area = 0;
    let sumX = 0;
    let sumY = 0;
    for (let k = 0; k < soft.length; k++) {
      // Texture holes count as the object: they lie inside its silhouette.
      if (mask.data[k] && !refined.data[k]) soft[k] = 1;
      const a = Math.min(1, Math.max(0, 2 * soft[k] - 0.5));
      area += a;
      sumX += a * (x0 + (k % w) + 0.5);
      sumY += a * (y0 + Math.floor(k / w) + 0.5);
    }
    if (area < 1 || countMask(mask) === 0) return undefined;
    const cx = sumX / area;
    const cy = sumY / area;

    // 3b. Colour, shape, size, cell.
    // Two pixels in: past an outline drawn inside the silhouette.
    const interior = interiorOf(mask, Math.max(2, Math.round(W / 32)));
    const rgb = medianColor(interior, orig);
    const { color, distance: colorDistance } = nearestColor(rgb);
    const fit = this.fitShape({ x0, y0, w, h, data: soft }, area, cx, cy);
    const radiusPx = Math.sqrt(area / SHAPE_AREA_FACTOR[fit.shape]);
    const radius = radiusPx / W;
    const size: Size = radius < SMALL_MEDIUM ? 'small' : radius < MEDIUM_LARGE ? 'medium' : 'large';
    const column = Math.min(2, Math.max(0, Math.floor((cx / W) * 3)));
    const row = Math.min(2, Math.max(0, Math.floor((cy / H) * 3)));

    return {
      shape: fit.shape,
      color,
      size,
      position: POSITIONS[row * 3 + column],
      centroid: { x: cx / W, y: cy / H },
      radius,
      areaPx: area,
      shapeFit: fit.iou,
      colorDistance,
      rotationDeg: fit.shape === 'circle' ? undefined : fit.rotationDeg,
      style: this.readStyle(mask, interior, toImage, orig, smooth, bgAt, v, vv, radiusPx),
    };
  }

  /**
   * Analysis by synthesis: each shape's polygon, scaled to the measured area and tried over the
   * allowed rotations, is rasterised with 2×2 supersampling and the same 3×3 box blur as the
   * coverage map; the best soft IoU Σmin/Σmax wins.
   */
  private fitShape(coverage: SoftWindow, area: number, cx: number, cy: number): { shape: Shape; iou: number; rotationDeg: number } {
    let best = { shape: 'circle' as Shape, iou: -1, rotationDeg: 0 };
    const step = this.config.rotationStepDeg;
    for (const shape of SHAPES) {
      const r = Math.sqrt(area / SHAPE_AREA_FACTOR[shape]);
      if (shape === 'circle') {
        const iou = this.templateIou(coverage, shape, cx, cy, r, 0);
        if (iou > best.iou) best = { shape, iou, rotationDeg: 0 };
        continue;
      }
      // Coarse-to-fine over rotation: every other step first, then the neighbours of the best.
      let local = { iou: -1, rotationDeg: 0 };
      for (const rotationDeg of rangeInclusive(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, 2 * step)) {
        const iou = this.templateIou(coverage, shape, cx, cy, r, rotationDeg);
        if (iou > local.iou) local = { iou, rotationDeg };
      }
      for (const rotationDeg of [local.rotationDeg - step, local.rotationDeg + step]) {
        if (Math.abs(rotationDeg) > MAX_ROTATION_DEG) continue;
        const iou = this.templateIou(coverage, shape, cx, cy, r, rotationDeg);
        if (iou > local.iou) local = { iou, rotationDeg };
      }
      if (local.iou > best.iou) best = { shape, ...local };
    }
    return best;
  }

  private templateIou(coverage: SoftWindow, shape: Shape, cx: number, cy: number, r: number, rotationDeg: number): number {
    const { x0, y0, w, h } = coverage;
    const template = new Float32Array(w * h);
    const polygon = shape === 'circle' ? undefined : placePolygon(shape, cx, cy, r, rotationDeg);
    // Scanline rasterisation with 2×2 samples per pixel: per sample row, the polygon's edge
    // crossings are found once, then the row's samples are inside between odd/even crossings.
    const crossings: number[] = [];
    for (let ky = 0; ky < h; ky++) {
      for (const dy of [-0.25, 0.25]) {
        const sy = y0 + ky + 0.5 + dy;
        crossings.length = 0;
        if (polygon) {
          for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
            const [xi, yi] = polygon[i];
            const [xj, yj] = polygon[j];
            if (yi > sy !== yj > sy) crossings.push(((xj - xi) * (sy - yi)) / (yj - yi) + xi);
          }
          crossings.sort((p, q) => p - q);
        } else if (Math.abs(sy - cy) <= r) {
          const half = Math.sqrt(r * r - (sy - cy) ** 2);
          crossings.push(cx - half, cx + half);
        }
        if (crossings.length === 0) continue;
        let c = 0;
        for (let kx = 0; kx < w; kx++) {
          for (const dx of [-0.25, 0.25]) {
            const sx = x0 + kx + 0.5 + dx;
            while (c < crossings.length && crossings[c] <= sx) c++;
            if (c % 2 === 1) template[ky * w + kx] += 0.25;
          }
        }
      }
    }
    // The coverage map carries our 3×3 smoothing plus whatever blur the image had (generated
    // images are soft): compare with the template under 1..maxTemplateBlurPasses box passes.
    let best = 0;
    let blurred: Float32Array = template;
    for (let pass = 0; pass < this.config.maxTemplateBlurPasses; pass++) {
      blurred = boxBlur3(blurred, w, h);
      let num = 0;
      let den = 0;
      for (let k = 0; k < blurred.length; k++) {
        const a = coverage.data[k];
        const b = blurred[k];
        num += a < b ? a : b;
        den += a > b ? a : b;
      }
      if (den > 0 && num / den > best) best = num / den;
    }
    return best;
  }

  /** Estimates of the unnamed style attributes (used to report style diversity, not to score prompts). */
  private readStyle(
    mask: WindowMask,
    interior: WindowMask,
    toImage: (k: number) => number,
    orig: Float32Array[],
    smooth: Float32Array[],
    bgAt: (i: number, c: number) => number,
    v: Rgb,
    vv: number,
    radiusPx: number,
  ): ParsedObject['style'] {
    // Outline: boundary pixels whose colour is not a mix of object and background colours.
    const inner = erode(mask, 1);
    let residual = 0;
    let residualLuma = 0;
    let ringCount = 0;
    for (let k = 0; k < mask.data.length; k++) {
      if (!mask.data[k] || inner.data[k]) continue;
      const i = toImage(k);
      const q = [0, 1, 2].map((c) => orig[c][i] - bgAt(i, c));
      const t = Math.min(1, Math.max(0, (q[0] * v[0] + q[1] * v[1] + q[2] * v[2]) / vv));
      const r = q.map((qc, c) => qc - t * v[c]);
      residual += Math.hypot(r[0], r[1], r[2]);
      residualLuma += luma(r[0], r[1], r[2]);
      ringCount++;
    }
    residual /= Math.max(1, ringCount);
    residualLuma /= Math.max(1, ringCount);
    const outline = residual > 30 && Math.abs(residualLuma) > 15 ? (residualLuma < 0 ? 'dark' : 'light') : 'none';

    // Texture: high-frequency energy inside; shading: slope of a luma plane across the object.
    let energy = 0;
    const xs: number[] = [];
    const ys: number[] = [];
    const ls: number[] = [];
    for (let k = 0; k < interior.data.length; k++) {
      if (!interior.data[k]) continue;
      const i = toImage(k);
      energy += Math.abs(luma(orig[0][i], orig[1][i], orig[2][i]) - luma(smooth[0][i], smooth[1][i], smooth[2][i]));
      xs.push(k % interior.w);
      ys.push(Math.floor(k / interior.w));
      ls.push(luma(smooth[0][i], smooth[1][i], smooth[2][i]));
    }
    energy /= Math.max(1, ls.length);
    const [, gx, gy] = fitPlane(xs, ys, ls);
    return { outline, textured: energy > 7, shaded: Math.hypot(gx, gy) * radiusPx > 10 };
  }
}

/** The last erosion of `mask` (up to `maxSteps`) that still keeps at least three pixels. */
function deepest(mask: WindowMask, maxSteps: number): WindowMask {
  let current = mask;
  for (let s = 0; s < maxSteps; s++) {
    const next = erode(current, 1);
    if (countMask(next) < 3) break;
    current = next;
  }
  return current;
}

function rangeInclusive(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to + 1e-9; v += step) out.push(v);
  return out;
}

/** 3×3 box filter with clamped edges. */
function boxBlur3(src: Float32Array, W: number, H: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const dst = new Float32Array(src.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const l = src[y * W + Math.max(0, x - 1)];
      const r = src[y * W + Math.min(W - 1, x + 1)];
      tmp[y * W + x] = (l + src[y * W + x] + r) / 3;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = tmp[Math.max(0, y - 1) * W + x];
      const d = tmp[Math.min(H - 1, y + 1) * W + x];
      dst[y * W + x] = (u + tmp[y * W + x] + d) / 3;
    }
  }
  return dst;
}
