/** Small text helpers for editing comma-separated diffusion prompts. */

export const ARTICLES = ['a', 'an', 'the', 'some', 'any'];

/** Word categories where a new word replaces an old one instead of being added beside it. */
export const CATEGORIES: Record<string, readonly string[]> = {
  color: [
    'red', 'orange', 'yellow', 'green', 'blue', 'purple', 'violet', 'pink', 'brown', 'black', 'white', 'gray', 'grey',
    'golden', 'gold', 'silver', 'teal', 'cyan', 'magenta', 'beige', 'turquoise', 'crimson', 'navy', 'maroon',
  ],
  time: ['day', 'daytime', 'night', 'nighttime', 'sunset', 'sunrise', 'dawn', 'dusk', 'morning', 'evening', 'noon', 'midnight'],
  season: ['spring', 'summer', 'autumn', 'fall', 'winter'],
  size: ['tiny', 'small', 'little', 'medium', 'medium-sized', 'mid-sized', 'big', 'large', 'huge', 'giant', 'enormous'],
  weather: ['sunny', 'cloudy', 'rainy', 'snowy', 'foggy', 'stormy', 'misty'],
};

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function normalizeSpaces(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** "the red hat" → "red hat". */
export function stripArticle(phrase: string): string {
  return normalizeSpaces(phrase).replace(new RegExp(`^(?:${ARTICLES.join('|')})\\s+`, 'i'), '');
}

/** Category of a single word or of a phrase's last word ("light blue" → color). */
export function categoryOf(phrase: string): string | null {
  const words = stripArticle(phrase).toLowerCase().split(' ');
  const candidates = [words.join(' '), words[words.length - 1] ?? ''];
  for (const [name, list] of Object.entries(CATEGORIES)) if (candidates.some((w) => list.includes(w))) return name;
  return null;
}

/** Word-bounded, case-insensitive regex for a phrase. */
export function phraseRegExp(phrase: string, flags = 'i'): RegExp {
  return new RegExp(`(?<![\\w-])${escapeRegExp(phrase)}(?![\\w-])`, flags);
}

/**
 * Find `phrase` in `text` (as written, without its article, or with a plural/singular "s"
 * switched); returns the form that occurs, or null.
 */
export function findPhrase(text: string, phrase: string): string | null {
  const bare = stripArticle(phrase);
  if (!bare) return null;
  const forms = [bare, bare.endsWith('s') ? bare.slice(0, -1) : `${bare}s`];
  if (bare.endsWith('es')) forms.push(bare.slice(0, -2));
  // British and American spellings name the same thing.
  const american = bare.replace(/\bgrey\b/gi, 'gray').replace(/\bcolour/gi, 'color').replace(/\bcentre\b/gi, 'center');
  const british = bare.replace(/\bgray\b/gi, 'grey').replace(/\bcolor/gi, 'colour').replace(/\bcenter\b/gi, 'centre');
  forms.push(american, british);
  for (const form of forms) {
    if (form.length > 0) {
      const match = phraseRegExp(form).exec(text);
      if (match) return match[0];
    }
  }
  return null;
}

/** The last word of `text` in category `name`, or null. */
export function lastWordOfCategory(text: string, name: string): string | null {
  const list = CATEGORIES[name] ?? [];
  const words = text.match(/[A-Za-z-]+/g) ?? [];
  for (let i = words.length - 1; i >= 0; i--) if (list.includes(words[i]!.toLowerCase())) return words[i]!;
  return null;
}

/** Fix "a"/"an" in front of words after an edit ("a apple" → "an apple"). */
export function fixArticles(text: string): string {
  return text.replace(/\b(a|an|A|An)\s+([A-Za-z])/g, (match, article: string, letter: string) => {
    const wantsAn = 'aeiouAEIOU'.includes(letter);
    const upper = article[0] === 'A';
    const fixed = wantsAn ? (upper ? 'An' : 'an') : upper ? 'A' : 'a';
    return match.replace(article, fixed);
  });
}

/** Tidy a prompt after edits: collapse spaces and empty comma segments, trim dangling words. */
export function tidyPrompt(text: string): string {
  const segments = text
    .split(',')
    .map((s) => normalizeSpaces(s).replace(/^(?:and|with|plus)\s+/i, '').replace(/\s+(?:and|with|plus|of|in|on|a|an|the)$/i, ''))
    .filter((s) => s.length > 0 && !ARTICLES.includes(s.toLowerCase()));
  return fixArticles(segments.join(', '));
}

export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => normalizeSpaces(s))
    .filter((s) => s.length > 0);
}

/** Size words in order; a comparative ("bigger") moves one step. Synonyms share a step. */
export const SIZE_LADDER: readonly string[] = ['tiny', 'small', 'medium', 'large', 'huge'];
const SIZE_STEP: Record<string, number> = {
  tiny: 0, small: 1, little: 1, medium: 2, 'medium-sized': 2, 'mid-sized': 2, big: 3, large: 3, huge: 4, giant: 4, enormous: 4,
};

export function sizeStep(word: string): number | undefined {
  return SIZE_STEP[word.toLowerCase()];
}

/** +1 for "bigger", -1 for "smaller", undefined for anything else. */
export function sizeComparative(word: string): 1 | -1 | undefined {
  if (/^(?:bigger|larger|greater|taller|wider)$/i.test(word)) return 1;
  if (/^(?:smaller|tinier|shorter|littler|narrower)$/i.test(word)) return -1;
  return undefined;
}

/** "a bit", "a little", "slightly" … in front of an attribute carry no edit of their own. */
export function stripIntensifier(text: string): string {
  return normalizeSpaces(text).replace(/^(?:(?:a bit|a little|a lot|a tad|much|slightly|somewhat|way|even|much more|a little bit)\s+)+/i, '');
}

/** A location phrase: "at the top left", "in the center", "on the right", "to the middle left". */
export const POSITION_PHRASE =
  '(?:on|in|at|to|into|towards?)\\s+the\\s+(?:(?:top|bottom|middle|center|centre|upper|lower)\\s+)?(?:left|right|center|centre|top|bottom|middle)(?![\\w-])';

export function isPositionPhrase(text: string): boolean {
  return new RegExp(`^${POSITION_PHRASE}$`, 'i').test(normalizeSpaces(text));
}

/** All category words, for matching the modifiers in front of a noun. */
export const MODIFIER_WORDS: readonly string[] = [...new Set([...Object.values(CATEGORIES).flat(), 'very', 'slightly', 'extremely'])];
