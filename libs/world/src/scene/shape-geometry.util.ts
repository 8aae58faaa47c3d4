import { SHAPES, type Shape, type Size } from './scene.schema';

export type Point = readonly [number, number];

/** Inner/outer radius ratio of the five-pointed star. */
const STAR_INNER = 0.5;

/**
 * Every shape as a polygon of circumradius 1 around its area centroid, y pointing down.
 * The renderer draws these outlines and the oracle rasterises the same outlines as
 * templates, so "what a star is" is defined once.
 */
const POLYGONS: Readonly<Record<Shape, readonly Point[]>> = buildPolygons();

/** Object size as circumradius, a fraction of the image width. The 3×3 grid cell is 1/3 wide,
 * so a large object (diameter 0.29) leaves a gap between neighbouring cells even when rotated. */
export const SIZE_RADIUS: Readonly<Record<Size, number>> = { small: 0.08, medium: 0.11, large: 0.145 };


function regular(n: number, startDeg: number): Point[] {
  return Array.from({ length: n }, (_, i) => {
    const a = ((startDeg + (360 * i) / n) * Math.PI) / 180;
    return [Math.cos(a), Math.sin(a)] as const;
  });
}

function star(): Point[] {
  return Array.from({ length: 10 }, (_, i) => {
    const a = ((-90 + 36 * i) * Math.PI) / 180;
    const r = i % 2 === 0 ? 1 : STAR_INNER;
    return [r * Math.cos(a), r * Math.sin(a)] as const;
  });
}

/** The classic heart curve x = 16 sin³t, y = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t. */
function heart(): Point[] {
  return Array.from({ length: 32 }, (_, i) => {
    const t = (2 * Math.PI * i) / 32;
    const x = 16 * Math.sin(t) ** 3;
    const y = -(13 * Math.cos(t) - 5 * Math.cos(2 * t) - 2 * Math.cos(3 * t) - Math.cos(4 * t));
    return [x, y] as const;
  });
}

export function polygonArea(points: readonly Point[]): number {
  let a = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    a += x0 * y1 - x1 * y0;
  }
  return Math.abs(a) / 2;
}

function polygonCentroid(points: readonly Point[]): Point {
  let a = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    const cross = x0 * y1 - x1 * y0;
    a += cross;
    cx += (x0 + x1) * cross;
    cy += (y0 + y1) * cross;
  }
  return [cx / (3 * a), cy / (3 * a)];
}

/** Centres a polygon on its area centroid and scales it to circumradius 1. */
function normalise(points: readonly Point[]): Point[] {
  const [cx, cy] = polygonCentroid(points);
  const centred = points.map(([x, y]) => [x - cx, y - cy] as const);
  const r = Math.max(...centred.map(([x, y]) => Math.hypot(x, y)));
  return centred.map(([x, y]) => [x / r, y / r] as const);
}

function buildPolygons(): Record<Shape, Point[]> {
  return {
    circle: regular(48, 0),
    square: regular(4, 45),
    triangle: regular(3, -90),
    star: star(),
    heart: normalise(heart()),
  };
}

export function shapePolygon(shape: Shape): readonly Point[] {
  return POLYGONS[shape];
}

/** Area of the unit-circumradius shape: area = factor · r². */
export const SHAPE_AREA_FACTOR: Readonly<Record<Shape, number>> = Object.fromEntries(
  SHAPES.map((s) => [s, polygonArea(POLYGONS[s])]),
) as Record<Shape, number>;

/** Polygon placed at (cx, cy) with circumradius r, rotated by `rotationDeg` (clockwise, y down). */
export function placePolygon(shape: Shape, cx: number, cy: number, r: number, rotationDeg: number): Point[] {
  const a = (rotationDeg * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  return POLYGONS[shape].map(([x, y]) => [cx + r * (x * cos - y * sin), cy + r * (x * sin + y * cos)] as const);
}
