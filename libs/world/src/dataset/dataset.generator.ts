import { z } from 'zod';
import { createRng, deriveSeed } from '../util/rng.util';
import { sampleSceneWith } from '../scene/scene.sampler';
import { specOf, type Scene } from '../scene/scene.schema';
import { captionSpec } from '../language/caption.grammar';
import type { RasterImage } from '../render/image.types';
import type { SceneRenderer } from '../render/scene.renderer';
import { SplitSchema, splitOf, type Split } from './dataset-split.util';

export const DatasetOptionsSchema = z.object({
  split: SplitSchema,
  /** Base seed of the whole dataset; example i of a split always gets the same scene. */
  seed: z.number().int().nonnegative().default(0),
  /** First example index (to resume or shard). */
  start: z.number().int().nonnegative().default(0),
  count: z.number().int().positive(),
  /** Paraphrased captions per scene (each a separate example with the same image). */
  captionsPerScene: z.number().int().positive().default(1),
});
export type DatasetOptions = z.input<typeof DatasetOptionsSchema>;

export interface SceneExample {
  /** `${split}-${index}-${caption}`: stable across runs. */
  id: string;
  split: Split;
  index: number;
  /** Seed the scene was sampled from (feed it to sampleScene to get it back). */
  sceneSeed: number;
  scene: Scene;
  caption: string;
}

/**
 * The candidate stream of split `split`: scene j is sampled from deriveSeed(seed, split, j) and
 * kept only if its content hashes into `split`, so the stream of each split is independent and
 * never yields another split's scenes.
 */
function* candidates(split: Split, seed: number): Generator<{ sceneSeed: number; scene: Scene }> {
  for (let j = 0; ; j++) {
    const sceneSeed = deriveSeed(seed, split, j);
    const scene = sampleSceneWith(createRng(sceneSeed));
    if (splitOf(specOf(scene)) === split) yield { sceneSeed, scene };
  }
}

/** (scene, caption) examples of one split, deterministic in (seed, split, index). */
export function* generateExamples(options: DatasetOptions): Generator<SceneExample> {
  const o = DatasetOptionsSchema.parse(options);
  let index = 0;
  for (const { sceneSeed, scene } of candidates(o.split, o.seed)) {
    if (index >= o.start + o.count) return;
    if (index >= o.start) {
      const rng = createRng(deriveSeed(sceneSeed, 'captions'));
      for (let c = 0; c < o.captionsPerScene; c++) {
        yield { id: `${o.split}-${index}-${c}`, split: o.split, index, sceneSeed, scene, caption: captionSpec(specOf(scene), rng) };
      }
    }
    index++;
  }
}

export interface ImageExample extends SceneExample {
  image: RasterImage;
}

/** Adds the rendered image to each example (the renderer sets size and channels). */
export function* withImages(examples: Iterable<SceneExample>, renderer: SceneRenderer): Generator<ImageExample> {
  for (const example of examples) yield { ...example, image: renderer.render(example.scene) };
}
