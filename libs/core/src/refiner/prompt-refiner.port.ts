/** Injection token for `PromptRefiner`. */
export const PROMPT_REFINER = Symbol('PROMPT_REFINER');

/** One change the refiner made, shown to users so they see what the bot understood. */
export interface PromptEdit {
  kind: 'replace' | 'add' | 'remove' | 'negate' | 'more' | 'less' | 'correct' | 'rewrite';
  from?: string;
  to?: string;
}

export interface RefineInput {
  /** p_{t-1}. */
  previousPrompt: string;
  previousNegativePrompt: string;
  /** The user's feedback message for round t. */
  feedback: string;
  /**
   * context_{t-1}: earlier prompts and feedback of the dialogue, oldest first, and the edits the
   * refiner made last round (a correction such as "no, red" undoes those).
   */
  context: {
    history: Array<{ userText: string; refinedPrompt: string }>;
    previousEdits: PromptEdit[];
  };
}

export interface RefinedPrompt {
  prompt: string;
  negativePrompt: string;
  edits: PromptEdit[];
  source: 'rules' | 'llm';
  /** Set when a configured language model failed and the built-in refiner answered instead. */
  fallbackReason?: string;
}

/**
 * Maps (p_{t-1}, feedback_t, context_{t-1}) to p_t — the role of LLM_c(LLM_p(…)) in the VCA
 * paper (see docs/vca-method.md §1).
 */
export interface PromptRefiner {
  refine(input: RefineInput): Promise<RefinedPrompt>;
}
