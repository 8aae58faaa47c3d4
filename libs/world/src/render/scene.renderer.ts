import { createCanvas, type Canvas, type CanvasPattern, type SKRSContext2D } from '@napi-rs/canvas';
import { z } from 'zod';
import { createRng } from '../util/rng.util';
import { PALETTE, luma, rgbCss, rgbDistance, shadeRgb, type Rgb } from '../scene/palette.constants';
import { positionCell, type Color, type Scene, type SceneObject, type SceneStyle } from '../scene/scene.schema';
import { SIZE_RADIUS, placePolygon } from '../scene/shape-geometry.util';
import type { RasterImage } from './image.types';

export const RendererConfigSchema = z.object({
  /** Square image side in pixels; every geometric quantity scales with it. */
  size: z.number().int().min(32).max(1024).default(64),
  channels: z.union([z.literal(3), z.literal(4)]).default(3),
});
export type RendererConfig = z.infer<typeof RendererConfigSchema>;

type Texture = 'stripes' | 'dots' | 'speckle';

/**
 * Draws scenes with @napi-rs/canvas (Skia). One renderer owns one canvas and its texture
 * patterns, so rendering thousands of images only pays for the drawing itself.
 * Not re-entrant: use one instance per worker.
 */
export class SceneRenderer {
  readonly config: Readonly<RendererConfig>;
  private readonly canvas: Canvas;
  private readonly ctx: SKRSContext2D;
  /** Patterns tinted dark (for light objects) and light (for dark objects). */
  private readonly patterns: Record<Texture, { dark: CanvasPattern; light: CanvasPattern }>;

  constructor(config: Partial<RendererConfig> = {}) {
    this.config = Object.freeze(RendererConfigSchema.parse(config));
    this.canvas = createCanvas(this.config.size, this.config.size);
    this.ctx = this.canvas.getContext('2d');
    this.patterns = {
      stripes: this.makePatternPair('stripes'),
      dots: this.makePatternPair('dots'),
      speckle: this.makePatternPair('speckle'),
    };
  }

  render(scene: Scene): RasterImage {
    const { ctx } = this;
    const s = this.config.size;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.drawBackground(scene);
    for (const object of scene.objects) this.drawObject(object, scene.style, scene.background);
    const rgba = ctx.getImageData(0, 0, s, s).data;
    if (this.config.channels === 4) return { width: s, height: s, channels: 4, data: Uint8Array.from(rgba) };
    const data = new Uint8Array(s * s * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      data[j] = rgba[i];
      data[j + 1] = rgba[i + 1];
      data[j + 2] = rgba[i + 2];
    }
    return { width: s, height: s, channels: 3, data };
  }

  /** PNG bytes of the scene (for storage, debugging and fixtures generated at test time). */
  async renderPng(scene: Scene): Promise<Buffer> {
    this.render(scene);
    return this.canvas.encode('png');
  }

  private drawBackground(scene: Scene): void {
    const { ctx } = this;
    const s = this.config.size;
    const base = PALETTE[scene.background];
    if (scene.style.backgroundPattern === 'gradient') {
      // A gentle vertical light-to-dark ramp: visible, but far smaller than any palette gap.
      const g = ctx.createLinearGradient(0, 0, 0, s);
      g.addColorStop(0, rgbCss(shadeRgb(base, 0.12)));
      g.addColorStop(1, rgbCss(shadeRgb(base, -0.12)));
      ctx.fillStyle = g;
    } else {
      ctx.fillStyle = rgbCss(base);
    }
    ctx.fillRect(0, 0, s, s);
  }

  private tracePath(object: SceneObject, style: SceneStyle): { cx: number; cy: number; r: number } {
    const { ctx } = this;
    const s = this.config.size;
    const { row, column } = positionCell(object.position);
    const cx = ((column + 0.5) * s) / 3;
    const cy = ((row + 0.5) * s) / 3;
    const r = SIZE_RADIUS[object.size] * s;
    ctx.beginPath();
    if (object.shape === 'circle') {
      ctx.arc(cx, cy, r, 0, 2 * Math.PI);
    } else {
      const points = placePolygon(object.shape, cx, cy, r, style.rotationDeg);
      ctx.moveTo(points[0][0], points[0][1]);
      for (let i = 1; i < points.length; i++) ctx.lineTo(points[i][0], points[i][1]);
    }
    ctx.closePath();
    return { cx, cy, r };
  }

  private drawObject(object: SceneObject, style: SceneStyle, background: Color): void {
    const { ctx } = this;
    const base = PALETTE[object.color];
    const { cx, cy, r } = this.tracePath(object, style);
    if (style.shading === 'linear') {
      const g = ctx.createLinearGradient(cx - r, cy - r, cx + r, cy + r);
      g.addColorStop(0, rgbCss(shadeRgb(base, 0.15)));
      g.addColorStop(1, rgbCss(shadeRgb(base, -0.15)));
      ctx.fillStyle = g;
    } else if (style.shading === 'radial') {
      const g = ctx.createRadialGradient(cx - 0.35 * r, cy - 0.35 * r, 0, cx, cy, 1.2 * r);
      g.addColorStop(0, rgbCss(shadeRgb(base, 0.2)));
      g.addColorStop(1, rgbCss(shadeRgb(base, -0.12)));
      ctx.fillStyle = g;
    } else {
      ctx.fillStyle = rgbCss(base);
    }
    ctx.fill();
    if (style.texture !== 'none') {
      const pair = this.patterns[style.texture];
      ctx.fillStyle = luma(base) > 90 ? pair.dark : pair.light;
      ctx.fill();
    }
    const outline: Rgb = style.outline === 'dark' ? shadeRgb(base, -0.6) : shadeRgb(base, 0.6);
    // An outline close to the background colour would eat into the silhouette and make the
    // object look smaller or differently shaped; such outlines are left out.
    const bg = PALETTE[background];
    if (style.outline !== 'none' && rgbDistance(outline, bg) > Math.max(80, 0.5 * rgbDistance(base, bg))) {
      // Stroked inside the silhouette (clip + double width) so an outline never changes the
      // object's extent: size stays a named attribute, outline stays an unnamed one.
      ctx.save();
      ctx.clip();
      ctx.strokeStyle = rgbCss(outline);
      ctx.lineWidth = (2 * this.config.size) / 50;
      ctx.lineJoin = 'round';
      ctx.stroke();
      ctx.restore();
    }
  }

  /** Texture tiles, scaled with the image: period ≈ size/16 (4 px at 64×64). */
  private makePatternPair(texture: Texture): { dark: CanvasPattern; light: CanvasPattern } {
    const make = (ink: string): CanvasPattern => {
      const period = Math.max(4, Math.round(this.config.size / 16));
      const tile = createCanvas(period * 4, period * 4);
      const t = tile.getContext('2d');
      t.fillStyle = ink;
      t.strokeStyle = ink;
      if (texture === 'stripes') {
        t.lineWidth = period / 2.5;
        for (let k = -4; k <= 8; k++) {
          t.beginPath();
          t.moveTo(k * period, 0);
          t.lineTo(k * period - period * 4, period * 4);
          t.stroke();
        }
      } else if (texture === 'dots') {
        for (let y = 0; y < 4; y++) {
          for (let x = 0; x < 4; x++) {
            t.beginPath();
            t.arc((x + 0.5) * period, (y + 0.5) * period, period / 4, 0, 2 * Math.PI);
            t.fill();
          }
        }
      } else {
        // Fixed seed: the speckle grain is a style, not a source of randomness between renders.
        const rng = createRng(0x5eed);
        const px = Math.max(1, Math.round(this.config.size / 64));
        for (let y = 0; y < period * 4; y += px) {
          for (let x = 0; x < period * 4; x += px) {
            if (rng.chance(0.35)) t.fillRect(x, y, px, px);
          }
        }
      }
      const pattern = this.ctx.createPattern(tile, 'repeat');
      if (!pattern) throw new Error('SceneRenderer: canvas returned no pattern');
      return pattern;
    };
    return { dark: make('rgba(0,0,0,0.2)'), light: make('rgba(255,255,255,0.2)') };
  }
}
