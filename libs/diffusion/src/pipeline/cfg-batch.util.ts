import type { CandidateState } from './candidate-state';

/**
 * The UNet batch of one step: scaled latents of the k active candidates, twice with
 * classifier-free guidance ([uncond × k ‖ cond × k]), and the matching text embeddings.
 * `text` holds [uncond, cond] embeddings (or only cond without guidance), each L·D long.
 */
export function buildUnetBatch(active: readonly CandidateState[], timestep: number, cfg: boolean, text: Float32Array, embLength: number): { sample: Float32Array; context: Float32Array; batch: number } {
  const k = active.length;
  const halves = cfg ? 2 : 1;
  const plane = active[0]!.latents.length;
  const sample = new Float32Array(halves * k * plane);
  const context = new Float32Array(halves * k * embLength);
  active.forEach((st, j) => {
    const scaled = st.scheduler.scaleModelInput(st.latents, timestep);
    for (let h = 0; h < halves; h++) {
      sample.set(scaled, (h * k + j) * plane);
      context.set(text.subarray(h * embLength, (h + 1) * embLength), (h * k + j) * embLength);
    }
  });
  return { sample, context, batch: halves * k };
}

/** Candidate j's guided prediction: ε̂ = ε_u + w·(ε_c − ε_u) (Ho & Salimans 2022, eq. 6). */
export function guidedPrediction(out: Float32Array, j: number, k: number, plane: number, cfg: boolean, w: number): Float32Array {
  if (!cfg) return out.subarray(j * plane, (j + 1) * plane);
  const u = out.subarray(j * plane, (j + 1) * plane);
  const c = out.subarray((k + j) * plane, (k + j + 1) * plane);
  return u.map((uv, q) => uv + w * (c[q]! - uv));
}
