import type { RasterImage } from '../render/image.types';
import { NAMED_ATTRIBUTES, type ObjectAttribute, type ObjectSpec, type SceneSpec } from '../scene/scene.schema';
import { parsePrompt } from '../language/caption.parser';
import { ImageParser, type ImageParserConfig, type ParsedObject, type ParsedScene } from './image.parser';

/** One thing the image gets wrong relative to the prompt. */
export type AttributeError =
  | { kind: 'background'; expected: string; actual: string }
  | { kind: 'attribute'; shape: ObjectSpec['shape']; attribute: ObjectAttribute; expected: string; actual: string }
  | { kind: 'missing'; shape: ObjectSpec['shape'] }
  | { kind: 'extra'; actual: string };

export interface OracleVerdict {
  /** Share of the prompt's named attributes the image shows as asked, with each missing
   * object counting all its attributes and each extra object one, in [0, 1]. */
  score: number;
  /** Every named attribute as asked and no extra object. */
  match: boolean;
  errors: AttributeError[];
  parsed: ParsedScene;
}

/** Named attributes of a prompt object (the shape always counts). */
function namedAttributes(o: ObjectSpec): ObjectAttribute[] {
  return NAMED_ATTRIBUTES.filter((a) => a === 'shape' || o[a] !== undefined);
}

function matches(o: ObjectSpec, p: ParsedObject): number {
  return namedAttributes(o).filter((a) => o[a] === p[a]).length;
}

/** Injective assignment prompt objects → parsed objects maximising agreeing attributes (≤ 3 objects: brute force). */
function bestAssignment(objects: readonly ObjectSpec[], parsed: readonly ParsedObject[]): (number | undefined)[] {
  let best: (number | undefined)[] = objects.map(() => undefined);
  let bestScore = -1;
  const current: (number | undefined)[] = [];
  const used = new Set<number>();
  const visit = (i: number, score: number) => {
    if (i === objects.length) {
      if (score > bestScore) {
        bestScore = score;
        best = [...current];
      }
      return;
    }
    for (let j = 0; j < parsed.length; j++) {
      if (used.has(j)) continue;
      used.add(j);
      current.push(j);
      // A wrong shape still matches by the other attributes, but a right shape is preferred.
      visit(i + 1, score + matches(objects[i], parsed[j]) + (objects[i].shape === parsed[j].shape ? 0.5 : 0));
      current.pop();
      used.delete(j);
    }
    current.push(undefined);
    visit(i + 1, score);
    current.pop();
  };
  visit(0, 0);
  return best;
}

/**
 * The exact judge: compares what a prompt asks for with what the analytic parser reads in the
 * image. Only named attributes count; style attributes are free by design.
 */
export class SceneOracle {
  private readonly parser: ImageParser;

  constructor(config: Partial<ImageParserConfig> = {}) {
    this.parser = new ImageParser(config);
  }

  read(image: RasterImage): ParsedScene {
    return this.parser.parse(image);
  }

  judge(image: RasterImage, prompt: string | SceneSpec): OracleVerdict {
    return this.compare(this.read(image), typeof prompt === 'string' ? parsePrompt(prompt) : prompt);
  }

  compare(parsed: ParsedScene, spec: SceneSpec): OracleVerdict {
    const errors: AttributeError[] = [];
    let total = 0;
    let correct = 0;
    if (spec.background) {
      total++;
      if (parsed.background === spec.background) correct++;
      else errors.push({ kind: 'background', expected: spec.background, actual: parsed.background });
    }
    const assignment = bestAssignment(spec.objects, parsed.objects);
    spec.objects.forEach((o, i) => {
      const attributes = namedAttributes(o);
      total += attributes.length;
      const j = assignment[i];
      if (j === undefined) {
        errors.push({ kind: 'missing', shape: o.shape });
        return;
      }
      const p = parsed.objects[j];
      for (const a of attributes) {
        if (o[a] === p[a]) correct++;
        else errors.push({ kind: 'attribute', shape: o.shape, attribute: a, expected: String(o[a]), actual: p[a] });
      }
    });
    parsed.objects.forEach((p, j) => {
      if (assignment.includes(j)) return;
      total++;
      errors.push({ kind: 'extra', actual: `${p.size} ${p.color} ${p.shape} ${p.position}` });
    });
    return { score: total === 0 ? 1 : correct / total, match: errors.length === 0, errors, parsed };
  }
}
