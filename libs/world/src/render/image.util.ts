import { createCanvas, loadImage } from '@napi-rs/canvas';
import type { Rng } from '../util/rng.util';
import type { RasterImage } from './image.types';

export function toRgb(image: RasterImage): RasterImage {
  if (image.channels === 3) return image;
  const n = image.width * image.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = image.data[i * 4];
    data[i * 3 + 1] = image.data[i * 4 + 1];
    data[i * 3 + 2] = image.data[i * 4 + 2];
  }
  return { width: image.width, height: image.height, channels: 3, data };
}

/** CHW float tensor in [-1, 1], the layout diffusion models take. */
export function toChwFloat(image: RasterImage, out?: Float32Array, offset = 0): Float32Array {
  const n = image.width * image.height;
  const target = out ?? new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) target[offset + c * n + i] = image.data[i * image.channels + c] / 127.5 - 1;
  }
  return target;
}

/** Inverse of toChwFloat (values clamped). */
export function fromChwFloat(tensor: ArrayLike<number>, width: number, height: number, offset = 0): RasterImage {
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round((tensor[offset + c * n + i] + 1) * 127.5);
      data[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width, height, channels: 3, data };
}

/** Adds i.i.d. Gaussian noise of standard deviation `sigma` (in 0..255 units) to RGB channels. */
export function addGaussianNoise(image: RasterImage, sigma: number, rng: Rng): RasterImage {
  const data = new Uint8Array(image.data);
  for (let i = 0; i < data.length; i++) {
    if (image.channels === 4 && i % 4 === 3) continue;
    // Box–Muller transform.
    const g = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const v = Math.round(data[i] + sigma * g);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { ...image, data };
}

/** Separable box blur with the given radius (clamped edges); radius 1 is a 3×3 box. */
export function boxBlur(image: RasterImage, radius: number): RasterImage {
  const { width: w, height: h, channels: ch } = image;
  const pass = (src: Uint8Array, horizontal: boolean): Uint8Array => {
    const dst = new Uint8Array(src.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < ch; c++) {
          let sum = 0;
          for (let k = -radius; k <= radius; k++) {
            const xx = horizontal ? Math.min(w - 1, Math.max(0, x + k)) : x;
            const yy = horizontal ? y : Math.min(h - 1, Math.max(0, y + k));
            sum += src[(yy * w + xx) * ch + c];
          }
          dst[(y * w + x) * ch + c] = Math.round(sum / (2 * radius + 1));
        }
      }
    }
    return dst;
  };
  return { ...image, data: pass(pass(image.data, true), false) };
}

function toRgba(image: RasterImage): Uint8ClampedArray {
  const n = image.width * image.height;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = image.data[i * image.channels + c];
    rgba[i * 4 + 3] = image.channels === 4 ? image.data[i * 4 + 3] : 255;
  }
  return rgba;
}

/** PNG bytes (through Skia, which the renderer already loads). */
export function encodePng(image: RasterImage): Buffer {
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  const data = ctx.createImageData(image.width, image.height);
  data.data.set(toRgba(image));
  ctx.putImageData(data, 0, 0);
  return canvas.toBuffer('image/png');
}

/** Decodes PNG (or JPEG/WebP) bytes into an RGB raster. */
export async function decodeImage(bytes: Buffer): Promise<RasterImage> {
  const img = await loadImage(bytes);
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, img.width, img.height).data;
  return toRgb({ width: img.width, height: img.height, channels: 4, data: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength) });
}
