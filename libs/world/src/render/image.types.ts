/** A packed 8-bit image, row-major, channels interleaved (RGB or RGBA). */
export interface RasterImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}
