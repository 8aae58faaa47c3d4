import { buildTokenizer, captionSpec, createRng, deriveSeed, hashString, sampleSceneWith, SceneRenderer, specKey, specOf, toChwFloat, type Rng as WorldRng, type Scene, type SceneSpec } from '@vca/world';
import { ClipTokenizer } from '@vca/diffusion';

/**
 * The training and evaluation data: scenes sampled by @vca/world, captioned by its grammar,
 * rendered by its renderer. A scene's named content (specKey) decides its split, so held-out
 * prompts describe scenes the models never saw in training, under any paraphrase.
 */
export type Split = 'train' | 'heldout';

/** One named scene in ten is held out (FNV-1a of the canonical spec key). */
export function splitOf(scene: Scene): Split {
  return hashString(specKey(specOf(scene))) % 10 === 0 ? 'heldout' : 'train';
}

/** The `index`-th scene of a split for a seed and stream label: deterministic, resampled until it is in the split. */
export function sceneFor(seed: number, stream: string, index: number, split: Split): Scene {
  const rng = createRng(deriveSeed(seed, stream, index));
  for (;;) {
    const scene = sampleSceneWith(rng);
    if (splitOf(scene) === split) return scene;
  }
}

/**
 * What a prompt names: the whole scene most of the time; otherwise some attributes are left
 * open (each of colour/size/position with p = 0.25, the background with p = 0.2), so the models
 * learn to fill in what a user does not say.
 */
export function promptSpecOf(scene: Scene, rng: WorldRng): SceneSpec {
  const full = specOf(scene);
  if (rng.chance(0.6)) return full;
  return {
    background: rng.chance(0.2) ? undefined : full.background,
    objects: full.objects.map((o) => ({
      shape: o.shape,
      color: rng.chance(0.25) ? undefined : o.color,
      size: rng.chance(0.25) ? undefined : o.size,
      position: rng.chance(0.25) ? undefined : o.position,
    })),
  };
}

/** A paraphrased prompt for a scene, with the spec it names. */
export function promptFor(scene: Scene, rng: WorldRng): { prompt: string; spec: SceneSpec } {
  const spec = promptSpecOf(scene, rng);
  return { prompt: captionSpec(spec, rng), spec };
}

/** The scene world's tokenizer (@vca/world builds it), read through the runtime's own tokenizer class. */
export function worldTokenizer(): ClipTokenizer {
  const built = buildTokenizer();
  return ClipTokenizer.fromJson(built.tokenizer, built.config);
}

/** Renders scenes into one NCHW float batch in [−1, 1]. */
export function renderBatch(renderer: SceneRenderer, scenes: readonly Scene[]): Float32Array {
  const n = renderer.config.size * renderer.config.size * 3;
  const out = new Float32Array(scenes.length * n);
  scenes.forEach((s, i) => toChwFloat(renderer.render(s), out, i * n));
  return out;
}

/** Token ids of prompts as one int64 [N, L] buffer. */
export function tokenBatch(tokenizer: ClipTokenizer, prompts: readonly string[]): BigInt64Array {
  const L = tokenizer.maxLength;
  const out = new BigInt64Array(prompts.length * L);
  prompts.forEach((p, i) => tokenizer.encode(p).forEach((id, j) => (out[i * L + j] = BigInt(id))));
  return out;
}
