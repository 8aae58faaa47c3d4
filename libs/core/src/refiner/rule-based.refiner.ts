import { Injectable } from '@nestjs/common';
import type { PromptEdit, PromptRefiner, RefineInput, RefinedPrompt } from './prompt-refiner.port';
import {
  categoryOf,
  escapeRegExp,
  findPhrase,
  lastWordOfCategory,
  normalizeSpaces,
  phraseRegExp,
  splitList,
  stripArticle,
  tidyPrompt,
} from './prompt-text.util';

const VERBS = [
  'add', 'include', 'put', 'insert', 'give', 'remove', 'delete', 'drop', 'erase', 'get rid of', 'take out', 'take away',
  'replace', 'swap', 'switch', 'change', 'turn', 'make', 'paint', 'colou?r', 'no', 'without', 'more', 'less', 'fewer',
];
const VERB_AHEAD = `(?=(?:${VERBS.join('|')})\\b)`;
/** Politeness and filler in front of an instruction: "please", "can you", "I'd like you to". */
const FILLER =
  /^(?:(?:please|pls|ok(?:ay)?|now|then|also|and|but|just|maybe|perhaps|hmm+|so|can you|could you|would you|will you|i want(?: you)? to|i'?d like(?: you)? to|let'?s|try to|try|i think you should|you should)[,\s]+)+/i;

/** A plural noun heuristic: "trees", "birds" (but not "glass", "grass"). */
function isPluralNoun(word: string): boolean {
  return /[^s]s$/i.test(word) && !categoryOf(word);
}

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
    const state = new PromptState(input.previousPrompt, input.previousNegativePrompt);
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
    const clause = rawClause.replace(FILLER, '').replace(/[.!?]+$/, '').trim();
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
    if ((m = /^(?:make|turn|paint|colou?r)\s+(?:the\s+)?(.+)$/i.exec(clause))) {
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

/** The prompt being edited: positive text, negative phrases, and the edits made. */
class PromptState {
  private text: string;
  private negatives: string[];
  readonly edits: PromptEdit[] = [];

  constructor(prompt: string, negativePrompt: string) {
    this.text = normalizeSpaces(prompt);
    this.negatives = splitList(negativePrompt);
  }

  prompt(): string {
    return tidyPrompt(this.text);
  }

  negativePrompt(): string {
    return this.negatives.join(', ');
  }

  replace(fromPhrase: string, toPhrase: string): void {
    const from = stripArticle(fromPhrase);
    const to = stripArticle(toPhrase);
    const found = findPhrase(this.text, from);
    this.unNegate(to);
    if (found) {
      this.text = this.text.replace(phraseRegExp(found), to);
      this.edits.push({ kind: 'replace', from: found, to });
    } else {
      this.append(normalizeSpaces(toPhrase));
      this.edits.push({ kind: 'add', to: normalizeSpaces(toPhrase) });
    }
  }

  add(phrase: string): void {
    const p = normalizeSpaces(phrase);
    this.unNegate(stripArticle(p));
    if (findPhrase(this.text, p)) return;
    this.append(p);
    this.edits.push({ kind: 'add', to: p });
  }

  remove(phrase: string, kind: PromptEdit['kind']): void {
    const bare = stripArticle(phrase);
    const found = findPhrase(this.text, bare);
    if (found) {
      const segments = this.text.split(',').map((s) => s.trim());
      this.text = segments
        .map((segment) => {
          if (!phraseRegExp(found).test(segment)) return segment;
          const rest = segment.replace(phraseRegExp(found, 'gi'), '').replace(/\b(?:a|an|the|some|with|and|of)\b/gi, '').trim();
          // The segment was only this thing (plus articles): drop it.
          if (rest.split(/\s+/).filter(Boolean).length === 0) return '';
          const connective = new RegExp(
            `(?:\\s*\\b(?:with|and|wearing|holding|plus)\\s+)?(?:\\b(?:a|an|the|some|many|several|two|three)\\s+)?(?:[\\w-]+\\s+)?${escapeRegExp(found)}(?![\\w-])`,
            'i',
          );
          const exact = new RegExp(
            `(?:\\s*\\b(?:with|and|wearing|holding|plus)\\s+)?(?:\\b(?:a|an|the|some|many|several|two|three)\\s+)?${escapeRegExp(found)}(?![\\w-])`,
            'i',
          );
          // Prefer removing "with a X" over eating an adjective of something else.
          const next = segment.replace(exact, '');
          return next !== segment ? next : segment.replace(connective, '');
        })
        .join(', ');
    }
    if (!this.negatives.some((n) => n.toLowerCase() === bare.toLowerCase())) this.negatives.push(bare);
    this.edits.push({ kind, from: bare });
  }

  /** "more X": X → very X → extremely X; a plural noun gets "many". */
  more(phrase: string): void {
    const x = stripArticle(phrase);
    this.unNegate(x);
    const plural = isPluralNoun(x.split(' ').pop() ?? x);
    const ladder = plural ? ['few', '', 'many'] : ['slightly', '', 'very', 'extremely'];
    this.step(x, ladder, +1, 'more');
  }

  /** "less X": extremely X → very X → X → slightly X → (negative prompt). */
  less(phrase: string): void {
    const x = stripArticle(phrase);
    const plural = isPluralNoun(x.split(' ').pop() ?? x);
    const ladder = plural ? ['few', '', 'many'] : ['slightly', '', 'very', 'extremely'];
    this.step(x, ladder, -1, 'less');
  }

  makeIt(attribute: string): void {
    const attr = stripArticle(attribute);
    const category = categoryOf(attr);
    const old = category ? lastWordOfCategory(this.text, category) : null;
    if (old && old.toLowerCase() !== attr.toLowerCase()) {
      this.text = this.text.replace(phraseRegExp(old), attr);
      this.edits.push({ kind: 'replace', from: old, to: attr });
      return;
    }
    this.add(attribute);
  }

  /** "make the cat black", "make the sky darker": find the noun in the prompt, the rest is the attribute. */
  makeThe(rest: string): void {
    const words = rest.split(' ');
    for (let n = words.length - 1; n >= 1; n--) {
      const noun = words.slice(0, n).join(' ');
      if (findPhrase(this.text, noun)) return this.modify(noun, words.slice(n).join(' '));
    }
    if (words.length >= 2) return this.modify(words.slice(0, -1).join(' '), words[words.length - 1]!);
    this.add(rest);
  }

  /** Give `noun` the attribute `attr`: replace a same-category adjective in front of it, else insert. */
  modify(nounPhrase: string, attribute: string): void {
    const noun = stripArticle(nounPhrase);
    const attr = stripArticle(attribute);
    const found = findPhrase(this.text, noun);
    if (!found) return this.add(`${attr} ${noun}`);
    const category = categoryOf(attr);
    const before = new RegExp(`([A-Za-z-]+)\\s+${escapeRegExp(found)}(?![\\w-])`, 'i').exec(this.text);
    if (before && category && categoryOf(before[1]!) === category) {
      this.text = this.text.replace(before[0], `${attr} ${found}`);
      this.edits.push({ kind: 'replace', from: `${before[1]} ${found}`, to: `${attr} ${found}` });
      return;
    }
    this.text = this.text.replace(phraseRegExp(found), `${attr} ${found}`);
    this.edits.push({ kind: 'add', to: `${attr} ${found}` });
  }

  /** A correction: the last edit misunderstood; `to` is what was meant. */
  correct(from: string | null, to: string, previousEdits: PromptEdit[]): void {
    if (from && findPhrase(this.text, from)) return this.replace(from, to);
    const category = categoryOf(to);
    const sameCategory = category ? lastWordOfCategory(this.text, category) : null;
    const lastTo = [...previousEdits].reverse().find((e) => e.to && findPhrase(this.text, e.to))?.to;
    if (lastTo && sameCategory && phraseRegExp(sameCategory).test(lastTo)) {
      // "no, red" after "make the car blue": swap the word of the same kind inside the last edit.
      return this.replace(sameCategory, to);
    }
    if (sameCategory) return this.replace(sameCategory, to);
    if (lastTo) return this.replace(lastTo, to);
    const lastRemoved = [...previousEdits].reverse().find((e) => (e.kind === 'remove' || e.kind === 'negate') && e.from);
    if (lastRemoved?.from) this.unNegate(lastRemoved.from);
    this.add(to);
    const last = this.edits[this.edits.length - 1];
    if (last) last.kind = 'correct';
  }

  private step(x: string, ladder: string[], direction: 1 | -1, kind: 'more' | 'less'): void {
    const pattern = new RegExp(
      `(?:\\b(${ladder.filter(Boolean).map(escapeRegExp).join('|')})\\s+)?${escapeRegExp(findPhrase(this.text, x) ?? x)}(?![\\w-])`,
      'i',
    );
    const match = findPhrase(this.text, x) ? pattern.exec(this.text) : null;
    if (!match) {
      if (direction > 0) {
        const phrase = ladder[2] ? `${ladder[2]} ${x}` : x;
        this.append(phrase);
        this.edits.push({ kind, to: phrase });
      } else {
        if (!this.negatives.some((n) => n.toLowerCase() === x.toLowerCase())) this.negatives.push(x);
        this.edits.push({ kind, from: x });
      }
      return;
    }
    const current = (match[1] ?? '').toLowerCase();
    const base = match[0].slice(match[1] ? match[1].length + 1 : 0);
    const index = ladder.indexOf(current);
    const nextIndex = index + direction;
    if (nextIndex < 0) {
      this.remove(base, 'less');
      return;
    }
    if (nextIndex >= ladder.length) return;
    const next = ladder[nextIndex]!;
    const replacement = next ? `${next} ${base}` : base;
    this.text = this.text.replace(match[0], replacement);
    this.edits.push({ kind, from: match[0], to: replacement });
  }

  private append(phrase: string): void {
    this.text = this.text ? `${this.text}, ${phrase}` : phrase;
  }

  /** The user now wants `phrase`: drop it from the negative prompt. */
  private unNegate(phrase: string): void {
    const p = phrase.toLowerCase();
    this.negatives = this.negatives.filter((n) => n.toLowerCase() !== p);
  }
}
