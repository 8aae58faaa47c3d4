import { DiffusionPipeline } from '@vca/diffusion';
import { captionSpec, createRng, decodeImage, deriveSeed, generateDialogue, hashString, SceneOracle, specKey, type ParsedObject, type RasterImage, type SceneSpec } from '@vca/world';
import { promptFor, sceneFor } from '../data/scene-data.util';

export interface GenerationEvalOptions {
  seed: number;
  steps: number;
  guidanceScale: number;
  scheduler: 'ddim' | 'euler_a' | 'dpmpp_2m';
  /** img2img strength of edit rounds (share of the schedule re-run from the kept image). */
  editStrength: number;
  log: (line: string) => void;
}

async function rasterOf(png: Uint8Array): Promise<RasterImage> {
  return decodeImage(Buffer.from(png));
}

/**
 * Text-to-image on held-out prompts (scenes whose named content no training batch contained):
 * the share of images in which the oracle reads every named attribute as asked.
 */
export async function evalTextToImage(pipe: DiffusionPipeline, oracle: SceneOracle, n: number, o: GenerationEvalOptions) {
  let matches = 0;
  let scoreSum = 0;
  const errorKinds: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const scene = sceneFor(o.seed, 'eval-t2i', i, 'heldout');
    const { prompt, spec } = promptFor(scene, createRng(deriveSeed(o.seed, 'eval-t2i-prompt', i)));
    const { images } = await pipe.generate({ prompt, candidates: [{ seed: deriveSeed(o.seed, 'eval-t2i-noise', i) }], steps: o.steps, guidanceScale: o.guidanceScale, scheduler: o.scheduler });
    const verdict = oracle.judge(await rasterOf(images[0]!.png), spec);
    if (verdict.match) matches++;
    scoreSum += verdict.score;
    for (const e of verdict.errors) {
      const key = e.kind === 'attribute' ? `attribute:${e.attribute}` : e.kind;
      errorKinds[key] = (errorKinds[key] ?? 0) + 1;
    }
    if ((i + 1) % 50 === 0) o.log(`[t2i] ${i + 1}/${n} accuracy ${(matches / (i + 1)).toFixed(3)} mean attribute score ${(scoreSum / (i + 1)).toFixed(3)}`);
  }
  return { n, accuracy: matches / n, meanScore: scoreSum / n, errorKinds };
}

/** A dialogue's round 1 → round 2 step whose round-2 prompt is held out (same hash split as training). */
function heldOutEdit(seed: number, index: number): { before: SceneSpec; after: SceneSpec; beforePrompt: string; afterPrompt: string; kind: string } {
  for (let k = 0; ; k++) {
    const d = generateDialogue(deriveSeed(seed, 'eval-edit', index, k), { maxRounds: 2 });
    const [r1, r2] = d.rounds;
    if (!r1 || !r2?.feedback) continue;
    if (hashString(specKey(r2.spec)) % 10 !== 0) continue;
    return { before: r1.spec, after: r2.spec, beforePrompt: r1.prompt, afterPrompt: r2.prompt, kind: r2.feedback.kind };
  }
}

/**
 * Img2img edit rounds, as the system runs them: round 1 is text-to-image from the dialogue's
 * first prompt; round 2 starts from that image, noised to `editStrength`, under the refined
 * prompt. Success: the oracle reads every named attribute of the refined prompt as asked in
 * the round-2 image, i.e. the asked change happened and everything else named stayed.
 */
export async function evalEdits(pipe: DiffusionPipeline, oracle: SceneOracle, n: number, o: GenerationEvalOptions) {
  let success = 0;
  let firstRoundMatch = 0;
  const byKind: Record<string, { n: number; success: number }> = {};
  for (let i = 0; i < n; i++) {
    const e = heldOutEdit(o.seed, i);
    const seed = deriveSeed(o.seed, 'eval-edit-noise', i);
    const first = await pipe.generate({ prompt: e.beforePrompt, candidates: [{ seed }], steps: o.steps, guidanceScale: o.guidanceScale, scheduler: o.scheduler });
    if (oracle.judge(await rasterOf(first.images[0]!.png), e.before).match) firstRoundMatch++;
    const second = await pipe.generate({
      prompt: e.afterPrompt,
      initImage: first.images[0]!.png,
      candidates: [{ seed: seed + 1, strength: o.editStrength }],
      steps: o.steps,
      guidanceScale: o.guidanceScale,
      scheduler: o.scheduler,
    });
    const ok = oracle.judge(await rasterOf(second.images[0]!.png), e.after).match;
    if (ok) success++;
    const k = (byKind[e.kind] ??= { n: 0, success: 0 });
    k.n++;
    if (ok) k.success++;
    if ((i + 1) % 50 === 0) o.log(`[edit] ${i + 1}/${n} success ${(success / (i + 1)).toFixed(3)}`);
  }
  return { n, success: success / n, firstRoundAccuracy: firstRoundMatch / n, byKind };
}

function styleKey(o: ParsedObject): string[] {
  const rot = o.rotationDeg === undefined ? 'n/a' : Math.abs(o.rotationDeg) < 8 ? 'upright' : o.rotationDeg < 0 ? 'ccw' : 'cw';
  return [`outline:${o.style.outline}`, `texture:${o.style.textured ? 'yes' : 'no'}`, `shading:${o.style.shaded ? 'yes' : 'no'}`, `rotation:${rot}`];
}

/**
 * Diversity of the attributes no prompt names: for fixed prompts, generate several seeds and
 * count the style the oracle reads on each object (outline, texture, shading, rotation). Reports
 * the pooled distribution and the share of prompts whose seeds show more than one value of some
 * style attribute.
 */
export async function evalDiversity(pipe: DiffusionPipeline, oracle: SceneOracle, prompts: number, seeds: number, o: GenerationEvalOptions) {
  const counts: Record<string, number> = {};
  let variedPrompts = 0;
  for (let i = 0; i < prompts; i++) {
    const scene = sceneFor(o.seed, 'eval-diversity', i, 'heldout');
    const prompt = captionSpec({ background: scene.background, objects: scene.objects.map((x) => ({ ...x })) });
    const { images } = await pipe.generate({ prompt, candidates: Array.from({ length: seeds }, (_, s) => ({ seed: deriveSeed(o.seed, 'eval-diversity-noise', i, s) })), steps: o.steps, guidanceScale: o.guidanceScale, scheduler: o.scheduler });
    const seen: Record<string, Set<string>> = {};
    for (const img of images) {
      for (const obj of oracle.read(await rasterOf(img.png)).objects) {
        for (const key of styleKey(obj)) {
          counts[key] = (counts[key] ?? 0) + 1;
          const [attr, value] = key.split(':') as [string, string];
          (seen[attr] ??= new Set()).add(value);
        }
      }
    }
    if (Object.values(seen).some((s) => s.size > 1)) variedPrompts++;
  }
  return { prompts, seedsPerPrompt: seeds, styleCounts: counts, promptsWithVariedStyle: variedPrompts / prompts };
}

/** Wall time per image at N = 4 candidates with CFG (median over `runs` calls). */
export async function evalTiming(pipe: DiffusionPipeline, runs: number, o: GenerationEvalOptions) {
  const perImage: number[] = [];
  const unetStep: number[] = [];
  for (let r = 0; r < runs; r++) {
    const { timings } = await pipe.generate({ prompt: 'a large red circle in the center on a blue background', candidates: [1, 2, 3, 4].map((s) => ({ seed: 100 * r + s })), steps: o.steps, guidanceScale: o.guidanceScale, scheduler: o.scheduler });
    perImage.push(timings.imageMs);
    unetStep.push(timings.unetStepMs);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { runs, imageMs: median(perImage), unetStepMs: median(unetStep) };
}
