/** A binary mask over a rectangular window of the image (x0, y0 in image pixels). */
export interface WindowMask {
  x0: number;
  y0: number;
  w: number;
  h: number;
  data: Uint8Array;
}

export function countMask(mask: WindowMask): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) n += mask.data[i];
  return n;
}

/** Erosion with a 3×3 square, repeated `steps` times; pixels outside the window count as empty. */
export function erode(mask: WindowMask, steps = 1): WindowMask {
  let src = mask.data;
  const { w, h } = mask;
  for (let s = 0; s < steps; s++) {
    const dst = new Uint8Array(src.length);
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        let keep = 1;
        for (let dy = -1; dy <= 1 && keep; dy++) for (let dx = -1; dx <= 1 && keep; dx++) keep = src[(y + dy) * w + x + dx];
        dst[y * w + x] = keep;
      }
    }
    src = dst;
  }
  return { ...mask, data: src };
}

/** Dilation with a 3×3 square, repeated `steps` times (within the window). */
export function dilate(mask: WindowMask, steps = 1): WindowMask {
  let src = mask.data;
  const { w, h } = mask;
  for (let s = 0; s < steps; s++) {
    const dst = new Uint8Array(src.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let on = 0;
        for (let dy = -1; dy <= 1 && !on; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -1; dx <= 1 && !on; dx++) {
            const xx = x + dx;
            if (xx >= 0 && xx < w) on = src[yy * w + xx];
          }
        }
        dst[y * w + x] = on;
      }
    }
    src = dst;
  }
  return { ...mask, data: src };
}

/** Fills holes: empty pixels not 4-connected to the window border become set (textures punch holes). */
export function fillHoles(mask: WindowMask): WindowMask {
  const { w, h, data } = mask;
  const outside = new Uint8Array(data.length);
  const stack: number[] = [];
  const push = (i: number) => {
    if (!data[i] && !outside[i]) {
      outside[i] = 1;
      stack.push(i);
    }
  };
  for (let x = 0; x < w; x++) {
    push(x);
    push((h - 1) * w + x);
  }
  for (let y = 0; y < h; y++) {
    push(y * w);
    push(y * w + w - 1);
  }
  while (stack.length > 0) {
    const i = stack.pop() as number;
    const x = i % w;
    const y = (i - x) / w;
    if (x > 0) push(i - 1);
    if (x < w - 1) push(i + 1);
    if (y > 0) push(i - w);
    if (y < h - 1) push(i + w);
  }
  const filled = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) filled[i] = outside[i] ? 0 : 1;
  return { ...mask, data: filled };
}

/** 8-connected components of a full-image mask, as lists of pixel indices. */
export function connectedComponents(mask: Uint8Array, width: number, height: number): number[][] {
  const label = new Int32Array(mask.length).fill(-1);
  const components: number[][] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start] >= 0) continue;
    const id = components.length;
    const pixels: number[] = [];
    const stack = [start];
    label[start] = id;
    while (stack.length > 0) {
      const i = stack.pop() as number;
      pixels.push(i);
      const x = i % width;
      const y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (mask[j] && label[j] < 0) {
            label[j] = id;
            stack.push(j);
          }
        }
      }
    }
    components.push(pixels);
  }
  return components;
}
