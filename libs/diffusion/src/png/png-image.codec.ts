import { decode, encode } from 'fast-png';

/**
 * Conversions between model tensors and PNG files (through fast-png).
 * Model space is CHW float in [−1, 1] (the VAE's range); PNG is 8-bit RGB.
 */

/** One image [3, H, W] in [−1, 1] → PNG bytes with tEXt chunks. */
export function encodePng(chw: Float32Array, width: number, height: number, text: Record<string, string> = {}): Uint8Array {
  const plane = width * height;
  const rgb = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      // diffusers VaeImageProcessor: (x/2 + 0.5).clamp(0, 1), then round(x·255)
      const v = Math.min(Math.max(chw[c * plane + p]! / 2 + 0.5, 0), 1);
      rgb[p * 3 + c] = Math.round(v * 255);
    }
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8, text });
}

export interface DecodedImage {
  /** [3, H, W] in [−1, 1]. */
  data: Float32Array;
  width: number;
  height: number;
  text: Record<string, string>;
}

/** PNG bytes (gray/RGB, with or without alpha, 8 or 16 bit) → [3, H, W] in [−1, 1], resized to `size` if given. */
export function decodePng(bytes: Uint8Array, size?: { width: number; height: number }): DecodedImage {
  const png = decode(bytes);
  if (png.palette) throw new RangeError('indexed-colour PNGs are not supported; save the image as RGB');
  const { width, height, channels } = png;
  const max = png.depth === 16 ? 65535 : 255;
  const src = png.data;
  const plane = width * height;
  const chw = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      // Gray (1–2 channels) replicates into RGB; alpha is ignored.
      const ch = channels >= 3 ? c : 0;
      chw[c * plane + p] = (Number(src[p * channels + ch]) / max) * 2 - 1;
    }
  }
  if (!size || (size.width === width && size.height === height)) return { data: chw, width, height, text: png.text };
  return { data: resizeBilinear(chw, width, height, size.width, size.height), width: size.width, height: size.height, text: png.text };
}

/** Bilinear resize of a [3, H, W] image (half-pixel centres, as PIL/torch align_corners=False). */
export function resizeBilinear(chw: Float32Array, w: number, h: number, W: number, H: number): Float32Array {
  const out = new Float32Array(3 * W * H);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * h) / H - 0.5, 0), h - 1);
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, h - 1), fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * w) / W - 0.5, 0), w - 1);
      const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, w - 1), fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const b = c * w * h;
        const top = chw[b + y0 * w + x0]! * (1 - fx) + chw[b + y0 * w + x1]! * fx;
        const bottom = chw[b + y1 * w + x0]! * (1 - fx) + chw[b + y1 * w + x1]! * fx;
        out[c * W * H + y * W + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}
