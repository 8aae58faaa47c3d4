// fast-png 8 publishes only an `exports` map, which the repository's `moduleResolution: node`
// cannot follow; these are the declarations of the part we use (fast-png/lib/index.d.ts).
declare module 'fast-png' {
  type PngDataArray = Uint8Array | Uint8ClampedArray | Uint16Array;
  interface ImageData {
    width: number;
    height: number;
    data: PngDataArray;
    depth?: 1 | 2 | 4 | 8 | 16;
    channels?: number;
    text?: Record<string, string>;
  }
  interface DecodedPng {
    width: number;
    height: number;
    data: PngDataArray;
    depth: 1 | 2 | 4 | 8 | 16;
    channels: number;
    text: Record<string, string>;
    palette?: unknown;
  }
  export function encode(png: ImageData): Uint8Array;
  export function decode(data: ArrayBufferLike | ArrayBufferView): DecodedPng;
}
