/**
 * The classifier-free guidance scale this model family's exports recommend (model_index.json's
 * `_vca_guidance_scale`; `npm run generate` and the eval default to it). Chosen on validation
 * prompts — held-out scenes drawn with seed 8, never the eval's seed 7 — at 1.5 / 2 / 2.5 / 3 / 4
 * on the phase-6 weights: 75.3 / 78.7 / 80.0 / 78.7 / 64.7% text-to-image (150 prompts); at 4 most
 * errors were over-driven colours, and Stable Diffusion's customary 7.5 washes colours out.
 */
export const RECOMMENDED_GUIDANCE = 2.5;
