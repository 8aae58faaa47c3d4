import {
  COLOR_WORDS,
  POSITION_PHRASES,
  SHAPE_WORDS,
  SIZE_WORDS,
  applyFeedback,
  captionSpec,
  parseFeedback,
  parsePrompt,
  tokenize,
  type DialogueContext,
} from '@vca/world';
import type { PromptRefiner, RefineInput, RefinedPrompt } from './prompt-refiner.port';
import { RuleBasedPromptRefiner } from './rule-based.refiner';

/** Words the caption grammar uses besides the lexicon (articles, joins, background forms). */
const GRAMMAR_WORDS = ['a', 'an', 'the', 'on', 'in', 'at', 'and', 'with', 'plus', 'background', 'backdrop', 'against', 'picture', 'of', 'sized', 'mid', ','];

const SCENE_VOCABULARY: ReadonlySet<string> = new Set(
  [
    ...Object.values(SHAPE_WORDS).flat(),
    ...Object.values(COLOR_WORDS).flat(),
    ...Object.values(SIZE_WORDS).flat(),
    ...Object.values(POSITION_PHRASES).flat(),
    ...GRAMMAR_WORDS,
  ].flatMap((phrase) => tokenize(phrase)),
);

/** True when every word of `prompt` belongs to the scene world's caption language. */
export function isScenePrompt(prompt: string): boolean {
  const tokens = tokenize(prompt);
  return tokens.length > 0 && tokens.every((t) => SCENE_VOCABULARY.has(t));
}

/**
 * The prompt refiner for the scene world the shipped default model draws (libs/world): the
 * previous prompt is parsed into a scene spec, the feedback is parsed and applied to it (the
 * world's rule-based LLM_p, docs/vca-method.md §1), and the result is captioned canonically.
 * "it" resolves to the dialogue's focus, replayed from the earlier rounds (LLM_c's context).
 *
 * Prompts outside the world's vocabulary ("a fox in the snow"), feedback it cannot parse, and
 * feedback that does not apply ("which object do you mean?") go to `fallback` — the general
 * English refiner by default — so nothing the user wrote is lost.
 */
export class SceneWorldPromptRefiner implements PromptRefiner {
  constructor(private readonly fallback: PromptRefiner = new RuleBasedPromptRefiner()) {}

  async refine(input: RefineInput): Promise<RefinedPrompt> {
    const prompt = this.tryScene(input);
    if (prompt) {
      return {
        prompt,
        negativePrompt: input.previousNegativePrompt,
        edits: [{ kind: 'rewrite', from: input.previousPrompt, to: prompt }],
        source: 'rules',
      };
    }
    return this.fallback.refine(input);
  }

  private tryScene(input: RefineInput): string | null {
    if (!isScenePrompt(input.previousPrompt)) return null;
    const feedback = parseFeedback(input.feedback);
    if (!feedback) return null;
    try {
      return captionSpec(applyFeedback(parsePrompt(input.previousPrompt), feedback, focusOf(input.context.history)).spec);
    } catch {
      // PromptParseError / FeedbackError: not something the scene rules can apply.
      return null;
    }
  }
}

/** The dialogue focus after the earlier rounds: replay each round's feedback on its previous prompt. */
function focusOf(history: RefineInput['context']['history']): DialogueContext {
  let context: DialogueContext = {};
  for (let i = 1; i < history.length; i++) {
    const feedback = parseFeedback(history[i]!.userText);
    if (!feedback) continue;
    try {
      context = applyFeedback(parsePrompt(history[i - 1]!.refinedPrompt), feedback, context).context;
    } catch {
      // that round's feedback did not apply to the scene; the focus stays
    }
  }
  return context;
}
