/**
 * Throughput of the scene world (single thread). Usage: npm run bench:world
 * Prints one line per figure and a JSON summary last.
 */
import { generateExamples } from '../dataset/dataset.generator';
import { generateDialogue } from '../language/dialogue.generator';
import { SceneOracle } from '../oracle/scene.oracle';
import { addGaussianNoise, boxBlur, toChwFloat } from '../render/image.util';
import { SceneRenderer } from '../render/scene.renderer';
import { sampleScene } from '../scene/scene.sampler';
import { specOf } from '../scene/scene.schema';
import { createRng } from '../util/rng.util';

function timeIt(label: string, n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(50, n); i++) fn(i); // warm-up (JIT, Skia caches)
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const perSecond = (n / ms) * 1000;
  console.log(`${label.padEnd(44)} ${(ms / n).toFixed(3).padStart(8)} ms/item ${perSecond.toFixed(0).padStart(8)} items/s`);
  return perSecond;
}

const scenes = Array.from({ length: 2000 }, (_, i) => sampleScene(i));
const r64 = new SceneRenderer({ size: 64 });
const r128 = new SceneRenderer({ size: 128 });
const tensor = new Float32Array(3 * 64 * 64);
const summary: Record<string, number> = {};
summary.sample_per_s = timeIt('sampleScene', 20000, (i) => sampleScene(i));
summary.render64_per_s = timeIt('render 64×64 RGB', 5000, (i) => r64.render(scenes[i % scenes.length]));
summary.render64_tensor_per_s = timeIt('render 64×64 + CHW float tensor', 5000, (i) => toChwFloat(r64.render(scenes[i % scenes.length]), tensor));
summary.render128_per_s = timeIt('render 128×128 RGB', 2000, (i) => r128.render(scenes[i % scenes.length]));
const examples = generateExamples({ split: 'train', count: 1_000_000 });
summary.example_per_s = timeIt('train example (scene + caption)', 5000, () => examples.next());
summary.dialogue_per_s = timeIt('dialogue (up to 10 rounds)', 1000, (i) => generateDialogue(i));
const oracle = new SceneOracle();
const images = scenes.slice(0, 300).map((s) => r64.render(s));
const rng = createRng(1);
const degraded = images.map((im) => addGaussianNoise(boxBlur(im, 1), 8, rng));
summary.oracle_clean_per_s = timeIt('oracle judge 64×64 (clean)', 300, (i) => oracle.judge(images[i % 300], specOf(scenes[i % 300])));
summary.oracle_degraded_per_s = timeIt('oracle judge 64×64 (blur + noise)', 300, (i) => oracle.judge(degraded[i % 300], specOf(scenes[i % 300])));
console.log(JSON.stringify(Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, Math.round(v)]))));
