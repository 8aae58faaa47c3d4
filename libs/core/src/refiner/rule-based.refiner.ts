import { Injectable } from '@nestjs/common';
import type { PromptRefiner, RefineInput, RefinedPrompt } from './prompt-refiner.port';
import { PromptState } from './prompt-state';
import { categoryOf, findPhrase, isPositionPhrase, normalizeSpaces, stripArticle } from './prompt-text.util';

const VERBS = [
  'add', 'include', 'put', 'insert', 'give', 'remove', 'delete', 'drop', 'erase', 'get rid of', 'take out', 'take away',
  'replace', 'swap', 'switch', 'change', 'turn', 'make', 'paint', 'colou?r', 'no', 'without', 'more', 'less', 'fewer',
  'move', 'place', 'enlarge', 'shrink', 'grow',
];
const VERB_AHEAD = `(?=(?:${VERBS.join('|')})\\b)`;
/** Politeness and filler in front of an instruction: "please", "can you", "I'd like you to". */
const FILLER =
  /^(?:(?:please|pls|ok(?:ay)?|now|then|also|and|but|just|maybe|perhaps|hmm+|so|can you|could you|would you|will you|i want(?: you)? to|i'?d like(?: you)? to|let'?s|try to|try|i think you should|you should)[,\s]+)+/i;

/**
 * Deterministic refiner for ordinary English edits — the rule-based stand-in for LLM_p/LLM_c of the
 * VCA paper (docs/vca-method.md §1). It understands, per clause of the feedback:
 *   replace "X with/to/into Y", "Y instead of X"; "make it X", "make the N X";
 *   add "add X", "with X", "include X"; remove "remove X", "get rid of X";
 *   negate "no X", "without X", "don't want X" (also added to the negative prompt);
 *   intensity "more X", "less X", "fewer X";
 *   corrections of the previous round's edit: "no, red", "not blue, red", "red, not blue".
 * Anything else is added to the prompt as a new phrase, so feedback is never silently dropped.
 */
@Injectable()
export class RuleBasedPromptRefiner implements PromptRefiner {
  async refine(input: RefineInput): Promise<RefinedPrompt> {
    return this.refineSync(input);
  }

  refineSync(input: RefineInput): RefinedPrompt {
    const state = new PromptState(input.previousPrompt, input.previousNegativePrompt, input.context.previousEdits);
    const feedback = normalizeSpaces(input.feedback);
    const correction = this.correction(feedback);
    if (correction) {
      state.correct(correction.from, correction.to, input.context.previousEdits);
    } else {
      for (const clause of splitClauses(feedback)) this.applyClause(state, clause);
    }
    return { prompt: state.prompt(), negativePrompt: state.negativePrompt(), edits: state.edits, source: 'rules' };
  }

  /** "no, red" / "no, I meant red" / "not blue, red" / "red, not blue" / "actually red". */
  private correction(feedback: string): { from: string | null; to: string } | null {
    const text = feedback.replace(/[.!]+$/, '');
    let m = /^not\s+(.+?),\s*(?:but\s+)?(.+)$/i.exec(text);
    if (m) return { from: stripArticle(m[1]!), to: stripArticle(m[2]!) };
    m = /^(.+?),\s*not\s+(.+)$/i.exec(text);
    if (m && !new RegExp(`^${VERB_AHEAD}`, 'i').test(m[1]!)) return { from: stripArticle(m[2]!), to: stripArticle(m[1]!) };
    m = /^(?:no|nope|wrong|not that|actually)[,!.]\s*(?:i meant\s+|i said\s+|i wanted\s+|it should be\s+|make it\s+)?(.+)$/i.exec(text);
    if (m && !new RegExp(`^${VERB_AHEAD}`, 'i').test(m[1]!) && m[1]!.split(' ').length <= 4) return { from: null, to: stripArticle(m[1]!) };
    return null;
  }

  private applyClause(state: PromptState, rawClause: string): void {
    const clause = state.resolveIt(rawClause.replace(FILLER, '').replace(/[.!?]+$/, '').trim());
    if (!clause || /^(?:no|yes|ok|okay|thanks|thank you|good|nice|great)$/i.test(clause)) return;
    let m: RegExpExecArray | null;

    if ((m = /^(?:replace|swap|switch|change|turn)\s+(.+?)\s+(?:with|to|into|for|by)\s+(.+)$/i.exec(clause))) {
      return state.replace(m[1]!, m[2]!);
    }
    if ((m = /^(?:(?:use|put|have|show|draw|make it)\s+)?(.+?)\s+instead of\s+(.+)$/i.exec(clause))) {
      return state.replace(m[2]!, m[1]!);
    }
    if ((m = /^(?:make|turn|paint|colou?r)\s+(?:it|everything|the (?:image|picture|scene|whole thing))\s+(more|less)\s+(.+)$/i.exec(clause))) {
      return m[1]!.toLowerCase() === 'more' ? state.more(m[2]!) : state.less(m[2]!);
    }
    if ((m = /^(more|less|fewer)\s+(.+)$/i.exec(clause))) {
      return m[1]!.toLowerCase() === 'more' ? state.more(m[2]!) : state.less(m[2]!);
    }
    if ((m = /^(?:make|turn|paint|colou?r)\s+(?:it|everything|the (?:image|picture|scene|whole thing))\s+(?:look\s+)?(.+)$/i.exec(clause))) {
      return state.makeIt(m[1]!);
    }
    if ((m = /^(?:move|put|place|shift)\s+(.+?)\s+((?:to|into|at|in|on|towards?)\s+the\s+.+)$/i.exec(clause)) && isPositionPhrase(m[2]!)) {
      return state.modify(m[1]!, m[2]!);
    }
    if ((m = /^(?:enlarge|grow|expand|scale up)\s+(.+)$/i.exec(clause))) return state.modify(m[1]!, 'bigger');
    if ((m = /^(?:shrink|scale down)\s+(.+)$/i.exec(clause))) return state.modify(m[1]!, 'smaller');
    if ((m = /^(?:make|turn|paint|colou?r)\s+(?:the\s+)?(.+)$/i.exec(clause))) {
      return state.makeThe(m[1]!);
    }
    if ((m = /^i(?:'d| would)?\s+(?:want|like|prefer)\s+(?:the\s+)(.+)$/i.exec(clause))) {
      return state.makeThe(m[1]!);
    }
    if ((m = /^(?:the\s+)?(.+?)\s+(?:should|must|needs to|has to)\s+be\s+(.+)$/i.exec(clause))) {
      return state.modify(m[1]!, m[2]!);
    }
    if ((m = /^(?:remove|delete|drop|erase|get rid of|take out|take away|lose|hide)\s+(.+)$/i.exec(clause))) {
      return state.remove(m[1]!, 'remove');
    }
    if ((m = /^(?:no|without|not|don'?t (?:want|show|include|add|draw)|do not (?:want|show|include|add|draw)|never)\s+(?:any\s+|more\s+)?(.+)$/i.exec(clause))) {
      return state.remove(m[1]!, 'negate');
    }
    if ((m = /^(?:add|include|insert|put|place|give (?:it|him|her|them)|with|plus|there should be|i want to see|show)\s+(.+?)(?:\s+(?:to|in|into|on)\s+(?:it|the (?:image|picture|scene)))?$/i.exec(clause))) {
      return state.add(m[1]!);
    }
    // "red background", "use a white background": a category word for a noun already in the prompt.
    if ((m = /^(?:(?:use|have|want|give it)\s+)?(?:(?:a|an|the)\s+)?([\w-]+)\s+([\w-]+)$/i.exec(clause)) && categoryOf(m[1]!) && findPhrase(state.current(), m[2]!)) {
      return state.modify(m[2]!, m[1]!);
    }
    state.add(clause);
  }
}

/** Split feedback into clauses: sentences, then "…, and add …" / "… but remove …" joins. */
export function splitClauses(feedback: string): string[] {
  return feedback
    .split(/[.;!?\n]+/)
    .flatMap((sentence) => sentence.split(new RegExp(`\\s*,?\\s+(?:and|but|also|then|plus)\\s+${VERB_AHEAD}|\\s*,\\s*${VERB_AHEAD}`, 'i')))
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}
