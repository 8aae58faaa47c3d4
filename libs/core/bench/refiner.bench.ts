// `npm run bench:refiner`: how often each built-in refiner turns (p_{t-1}, feedback_t) into a
// prompt describing the same scene as the world's ground truth p_t, over generated dialogues of
// the scene world (libs/world), and how long one refinement takes. Last line: one JSON object.
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { generateDialogue, parsePrompt } from '@vca/world';
import { RuleBasedPromptRefiner, SceneWorldPromptRefiner, type PromptEdit, type PromptRefiner, type RefineInput } from '../src';

const DIALOGUES = Number(process.env['BENCH_DIALOGUES'] ?? 300);

function sameScene(a: string, b: string): boolean {
  try {
    return JSON.stringify(parsePrompt(a)) === JSON.stringify(parsePrompt(b));
  } catch {
    return false;
  }
}

async function evaluate(refiner: PromptRefiner): Promise<{ rounds: number; accuracy: number; p50_us: number; p99_us: number }> {
  let rounds = 0;
  let correct = 0;
  const micros: number[] = [];
  for (let seed = 1; seed <= DIALOGUES; seed++) {
    const dialogue = generateDialogue(seed);
    const history: RefineInput['context']['history'] = [{ userText: dialogue.rounds[0]!.utterance, refinedPrompt: dialogue.rounds[0]!.prompt }];
    let previousEdits: PromptEdit[] = [];
    for (let t = 1; t < dialogue.rounds.length; t++) {
      const previous = dialogue.rounds[t - 1]!;
      const current = dialogue.rounds[t]!;
      const t0 = performance.now();
      const out = await refiner.refine({
        previousPrompt: previous.prompt,
        previousNegativePrompt: '',
        feedback: current.utterance,
        context: { history: [...history], previousEdits },
      });
      micros.push((performance.now() - t0) * 1000);
      previousEdits = out.edits;
      history.push({ userText: current.utterance, refinedPrompt: current.prompt });
      rounds += 1;
      if (sameScene(out.prompt, current.prompt)) correct += 1;
    }
  }
  micros.sort((a, b) => a - b);
  const at = (p: number) => Number(micros[Math.min(micros.length - 1, Math.ceil(p * micros.length) - 1)]!.toFixed(1));
  return { rounds, accuracy: Number((correct / rounds).toFixed(4)), p50_us: at(0.5), p99_us: at(0.99) };
}

async function main(): Promise<void> {
  const english = await evaluate(new RuleBasedPromptRefiner());
  const scene = await evaluate(new SceneWorldPromptRefiner());
  console.log(`dialogues=${DIALOGUES} rounds=${english.rounds} (feedback rounds of generated scene-world dialogues)`);
  console.log(`english rules      accuracy=${english.accuracy}  p50=${english.p50_us} µs  p99=${english.p99_us} µs`);
  console.log(`scene-world rules  accuracy=${scene.accuracy}  p50=${scene.p50_us} µs  p99=${scene.p99_us} µs`);
  console.log(
    JSON.stringify({
      rounds: english.rounds,
      english_accuracy: english.accuracy,
      scene_world_accuracy: scene.accuracy,
      english_p99_us: english.p99_us,
      scene_world_p99_us: scene.p99_us,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
