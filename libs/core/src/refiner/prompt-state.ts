import type { PromptEdit } from './prompt-refiner.port';
import {
  MODIFIER_WORDS,
  POSITION_PHRASE,
  SIZE_LADDER,
  categoryOf,
  escapeRegExp,
  findPhrase,
  isPositionPhrase,
  lastWordOfCategory,
  normalizeSpaces,
  phraseRegExp,
  sizeComparative,
  sizeStep,
  splitList,
  stripArticle,
  stripIntensifier,
  tidyPrompt,
} from './prompt-text.util';

/** A plural noun heuristic: "trees", "birds" (but not "glass", "grass"). */
function isPluralNoun(word: string): boolean {
  return /[^s]s$/i.test(word) && !categoryOf(word);
}

/** The prompt being edited: positive text, negative phrases, and the edits made. */
export class PromptState {
  private text: string;
  private negatives: string[];
  readonly edits: PromptEdit[] = [];

  /** The thing "it" refers to: the head noun of the latest edit that is still in the prompt. */
  private focus: string | null = null;

  constructor(prompt: string, negativePrompt: string, previousEdits: readonly PromptEdit[] = []) {
    this.text = normalizeSpaces(prompt);
    this.negatives = splitList(negativePrompt);
    for (const edit of [...previousEdits].reverse()) {
      const head = edit.to ? headNoun(edit.to) : null;
      if (head && findPhrase(this.text, head)) {
        this.focus = head;
        break;
      }
    }
  }

  /**
   * "make it red", "move it to the left", "it should be bigger": when "it" takes an attribute of
   * an object, it means the object edited last (the dialogue's focus). Without a focus, or for
   * whole-image edits ("make it watercolor"), the clause is left as it is.
   */
  resolveIt(clause: string): string {
    if (!this.focus) return clause;
    let m = /^(make|turn|paint|colou?r)\s+it\s+(.+)$/i.exec(clause);
    if (m && isAttribute(m[2]!)) return `${m[1]} the ${this.focus} ${m[2]}`;
    m = /^(move|put|place|shift|enlarge|grow|expand|shrink|scale up|scale down)\s+it\b(.*)$/i.exec(clause);
    if (m) return `${m[1]} the ${this.focus}${m[2]}`;
    m = /^it\s+(should|must|needs to|has to)\s+be\s+(.+)$/i.exec(clause);
    if (m && isAttribute(m[2]!)) return `the ${this.focus} ${m[1]} be ${m[2]}`;
    return clause;
  }

  prompt(): string {
    return tidyPrompt(this.text);
  }

  negativePrompt(): string {
    return this.negatives.join(', ');
  }

  current(): string {
    return this.text;
  }

  replace(fromPhrase: string, toPhrase: string): void {
    const from = stripArticle(fromPhrase);
    const to = stripArticle(toPhrase).replace(/\s+instead$/i, '');
    const found = findPhrase(this.text, from);
    // "change the background to blue", "turn the circle small": an attribute, not a new thing.
    if (found && !categoryOf(found) && isAttribute(to)) {
      return this.modify(found, to);
    }
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
    this.focus = headNoun(p) ?? this.focus;
    this.append(p);
    this.edits.push({ kind: 'add', to: p });
  }

  /** Remove the noun phrase of `phrase` (article, modifiers, location) and its joining word. */
  remove(phrase: string, kind: PromptEdit['kind']): void {
    const bare = stripArticle(phrase);
    const found = findPhrase(this.text, bare);
    if (found) {
      const np = nounPhraseAround(this.text, found);
      if (np) {
        const before = this.text.slice(0, np.index);
        const after = this.text.slice(np.index + np[0].length);
        const joinBefore = /(?:\s*,\s*(?:and\s+)?|\s+(?:and|with|plus|wearing|holding)\s+)$/i.exec(before);
        const joinAfter = /^(?:\s*,\s*(?:and\s+)?|\s+(?:and|with|plus)\s+)/i.exec(after);
        if (joinBefore) this.text = before.slice(0, joinBefore.index) + after;
        else if (joinAfter) this.text = before + after.slice(joinAfter[0].length);
        else this.text = before + after;
        this.text = normalizeSpaces(this.text);
      }
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
      // The noun must end in a noun: "paint the black disk pink" must not edit "black".
      if (MODIFIER_WORDS.includes(words[n - 1]!.toLowerCase())) continue;
      if (findPhrase(this.text, noun)) return this.modify(noun, words.slice(n).join(' '));
    }
    if (words.length >= 2) return this.modify(words.slice(0, -1).join(' '), words[words.length - 1]!);
    this.add(rest);
  }

  /**
   * Give `noun` the attribute `attribute`: a location replaces the noun's location; a size
   * comparative moves its size word one step; a word of a known kind (colour, size, time…)
   * replaces the noun's modifier of that kind; anything else goes in front of the noun.
   */
  modify(nounPhrase: string, attribute: string): void {
    const noun = stripArticle(nounPhrase);
    const attr = stripArticle(stripIntensifier(attribute)).replace(/\s+instead$/i, '');
    const found = findPhrase(this.text, noun);
    if (/^(?:a|an)\s+/i.test(stripIntensifier(attribute))) return this.replace(noun, attr); // "make the cat a dog"
    if (!found) return this.add(isPositionPhrase(attr) ? `${noun} ${attr}` : `${attr} ${noun}`);
    const np = nounPhraseAround(this.text, found);
    const { article, modifiers, head, position } = splitNounPhrase(np, headNoun(found) ?? found);
    this.focus = head;
    let nextModifiers = modifiers;
    let nextPosition = position;
    const comparative = sizeComparative(attr);
    const category = categoryOf(attr);
    if (isPositionPhrase(attr)) {
      // "to the left" reads as a destination; in a description it is "at the left".
      nextPosition = ` ${attr.replace(/^(?:to|into|towards?)\s+/i, 'at ')}`;
    } else if (comparative) {
      const current = modifiers.findIndex((w) => sizeStep(w) !== undefined);
      const step = current >= 0 ? sizeStep(modifiers[current]!)! + comparative : comparative > 0 ? 3 : 1;
      const word = SIZE_LADDER[Math.max(0, Math.min(SIZE_LADDER.length - 1, step))]!;
      nextModifiers = current >= 0 ? modifiers.map((w, i) => (i === current ? word : w)) : [word, ...modifiers];
    } else if (category) {
      const current = modifiers.findIndex((w) => categoryOf(w) === category);
      if (current >= 0) nextModifiers = modifiers.map((w, i) => (i === current ? attr : w));
      else nextModifiers = category === 'size' ? [attr, ...modifiers] : [...modifiers, attr];
    } else {
      nextModifiers = [...modifiers, attr];
    }
    const rebuilt = normalizeSpaces(`${article}${[...nextModifiers, head].join(' ')}${nextPosition}`);
    if (rebuilt === np[0]) return;
    this.text = this.text.slice(0, np.index) + rebuilt + this.text.slice(np.index + np[0].length);
    this.edits.push({ kind: modifiers.length === nextModifiers.length && position === nextPosition ? 'add' : 'replace', from: np[0].trim(), to: rebuilt.trim() });
  }

  /** A correction: the last edit misunderstood; `to` is what was meant. */
  correct(from: string | null, to: string, previousEdits: PromptEdit[]): void {
    if (from && findPhrase(this.text, from)) return this.replace(from, to);
    const category = categoryOf(to);
    const lastTo = [...previousEdits].reverse().find((e) => e.to && findPhrase(this.text, e.to))?.to;
    const inLastEdit = lastTo && category ? lastWordOfCategory(lastTo, category) : null;
    if (lastTo && inLastEdit) {
      // "no, red" after "make the car blue": swap the word of the same kind inside the last edit.
      const written = findPhrase(this.text, lastTo)!;
      const fixed = written.replace(phraseRegExp(inLastEdit), to);
      this.text = this.text.replace(phraseRegExp(written), fixed);
      this.edits.push({ kind: 'correct', from: written, to: fixed });
      return;
    }
    // "no, tiny" / "no, in the middle left": the object the dialogue is about.
    if (this.focus && isAttribute(to)) return this.modify(this.focus, to);
    const sameCategory = category ? lastWordOfCategory(this.text, category) : null;
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


/** The noun phrase around `noun`: optional article, modifier words, the noun, an optional location. */
function nounPhraseRegExp(noun: string): RegExp {
  const modifiers = MODIFIER_WORDS.map(escapeRegExp).join('|');
  return new RegExp(
    `(?<![\\w-])(?:(?:a|an|the|some|many|several)\\s+)?(?:(?:${modifiers})\\s+)*${escapeRegExp(noun)}(?![\\w-])(?:\\s+${POSITION_PHRASE})?`,
    'i',
  );
}

function splitNounPhrase(
  match: RegExpExecArray,
  noun: string,
): { article: string; modifiers: string[]; head: string; position: string } {
  const text = match[0];
  const nounAt = text.search(phraseRegExp(noun));
  const head = text.slice(nounAt, nounAt + noun.length);
  const position = text.slice(nounAt + noun.length);
  const words = text.slice(0, nounAt).trim().split(/\s+/).filter(Boolean);
  const article = words.length && /^(?:a|an|the|some|many|several)$/i.test(words[0]!) ? `${words.shift()} ` : '';
  return { article, modifiers: words, head, position };
}

/** Every noun phrase with head `found`'s last word; the one that contains `found` itself. */
function nounPhraseAround(text: string, found: string): RegExpExecArray {
  const head = headNoun(found) ?? found;
  const re = new RegExp(nounPhraseRegExp(head).source, 'gi');
  let first: RegExpExecArray | null = null;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    first ??= m;
    if (m[0].toLowerCase().includes(found.toLowerCase())) return m;
  }
  if (first) return first;
  // `found` came from findPhrase, so the plain phrase is there.
  return phraseRegExp(found).exec(text) as RegExpExecArray;
}

/** "a small pink triangle at the bottom" → "triangle"; null when nothing noun-like is left. */
function headNoun(phrase: string): string | null {
  const words = stripArticle(phrase.replace(new RegExp(`\\s+${POSITION_PHRASE}.*$`, 'i'), ''))
    .split(/\s+/)
    .filter((w) => w && !MODIFIER_WORDS.includes(w.toLowerCase()));
  return words.length ? words[words.length - 1]! : null;
}

/** A single attribute an object can take: a known-kind word, a size comparative or a location. */
function isAttribute(text: string): boolean {
  const a = stripArticle(stripIntensifier(text));
  return (!!categoryOf(a) && !a.includes(' ')) || !!sizeComparative(a) || isPositionPhrase(a);
}
