import { COLORS, DEFAULT_STYLE, PALETTE, POSITIONS, SceneRenderer, SHAPES, SIZES, type Scene } from '@vca/world';

/**
 * Constants of the UNet's layout prior (see CondUNetDims.grounding.layout): what each named
 * shape covers at each named size and grid cell, rendered by the scene world's own renderer, and
 * the named colours in latent units. Both are derived from @vca/world's definitions at graph-build
 * time, so the prior can never disagree with what the training images show.
 */

/** Size classes of a grounding token: the named sizes, then "unsaid". */
export const PRIOR_SIZES = SIZES.length + 1;
/** Cell classes of a grounding token: the 3×3 cells, then "unsaid". */
export const PRIOR_CELLS = POSITIONS.length + 1;
/** Colour classes of a grounding token: the named colours, then "unsaid". */
export const PRIOR_COLORS = COLORS.length + 1;

const templateCache = new Map<number, Float32Array>();

/**
 * Coverage templates [shapes, PRIOR_SIZES, PRIOR_CELLS, size²] in [0, 1]: the upright, unstyled
 * silhouette of each shape at each size centred in each cell (anti-aliased as the renderer draws
 * it). The "unsaid" size or cell is the mean over the named ones, so a token that leaves its size
 * or place open spreads its shape over every choice, as the training data does.
 */
export function shapeCoverageTemplates(size: number): Float32Array {
  const cached = templateCache.get(size);
  if (cached) return cached;
  const P = size * size;
  const renderer = new SceneRenderer({ size });
  const out = new Float32Array(SHAPES.length * PRIOR_SIZES * PRIOR_CELLS * P);
  const at = (shape: number, sz: number, cell: number) => ((shape * PRIOR_SIZES + sz) * PRIOR_CELLS + cell) * P;
  const named = 1 / (SIZES.length * POSITIONS.length);
  SHAPES.forEach((shape, s) => {
    SIZES.forEach((sizeName, z) => {
      POSITIONS.forEach((position, c) => {
        const scene: Scene = { background: 'black', objects: [{ shape, color: 'white', size: sizeName, position }], style: DEFAULT_STYLE };
        const img = renderer.render(scene);
        const base = at(s, z, c);
        for (let i = 0; i < P; i++) {
          const v = (img.data[i * img.channels]! - PALETTE.black[0]) / (PALETTE.white[0] - PALETTE.black[0]);
          const coverage = Math.min(1, Math.max(0, v));
          out[base + i] = coverage;
          out[at(s, z, POSITIONS.length) + i] += coverage / POSITIONS.length;
          out[at(s, SIZES.length, c) + i] += coverage / SIZES.length;
          out[at(s, SIZES.length, POSITIONS.length) + i] += coverage * named;
        }
      });
    });
  });
  templateCache.set(size, out);
  return out;
}

/** Pixel area of each shape's template per size class [shapes, PRIOR_SIZES] (the centre cell's). */
export function templateAreas(size: number): Float32Array {
  const t = shapeCoverageTemplates(size);
  const P = size * size;
  const out = new Float32Array(SHAPES.length * PRIOR_SIZES);
  const centre = POSITIONS.indexOf('center');
  for (let s = 0; s < SHAPES.length; s++)
    for (let z = 0; z < PRIOR_SIZES; z++) {
      const base = ((s * PRIOR_SIZES + z) * PRIOR_CELLS + centre) * P;
      let a = 0;
      for (let i = 0; i < P; i++) a += t[base + i]!;
      out[s * PRIOR_SIZES + z] = a;
    }
  return out;
}

/**
 * The named colours as latent values [PRIOR_COLORS, 3]: sRGB mapped to [−1, 1] as the VAE's input,
 * times the latent scaling factor; the last row ("unsaid") is 0, the middle of the range.
 */
export function paletteLatent(scalingFactor: number): Float32Array {
  const out = new Float32Array(PRIOR_COLORS * 3);
  COLORS.forEach((color, i) => PALETTE[color].forEach((v, k) => (out[i * 3 + k] = (v / 127.5 - 1) * scalingFactor)));
  return out;
}
