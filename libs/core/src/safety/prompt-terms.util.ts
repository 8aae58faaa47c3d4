/** Longest block-list term, in characters after normalisation. */
export const MAX_TERM_CHARS = 100;

/**
 * The form prompts and block-list terms are compared in: Unicode-compatibility folded, accents
 * dropped, lower case, every run of characters that are not letters or digits turned into one
 * space. "Blood-SPLATTER!" and "blood   splatter" both become "blood splatter".
 */
export function normaliseForMatching(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * A term as stored and matched (normalised), or null when nothing matchable is left (only
 * punctuation) or it is longer than `MAX_TERM_CHARS`.
 */
export function normaliseTerm(term: string): string | null {
  const normalised = normaliseForMatching(term);
  return normalised.length > 0 && normalised.length <= MAX_TERM_CHARS ? normalised : null;
}

/**
 * The first of `terms` (already normalised) that occurs in `text` as whole words: "cat" matches
 * "a Cat!" but not "concatenate"; "blood splatter" matches "blood, splatter". Null when none does.
 */
export function findBlockedTerm(text: string, terms: Iterable<string>): string | null {
  const padded = ` ${normaliseForMatching(text)} `;
  for (const term of terms) {
    if (padded.includes(` ${term} `)) return term;
  }
  return null;
}

/** `PROMPT_BLOCKLIST`-style text: comma-separated terms → normalised, de-duplicated; bad entries reported. */
export function parseTermList(list: string): { terms: string[]; invalid: string[] } {
  const terms = new Set<string>();
  const invalid: string[] = [];
  for (const raw of list.split(',')) {
    if (!raw.trim()) continue;
    const term = normaliseTerm(raw);
    if (term) terms.add(term);
    else invalid.push(raw.trim());
  }
  return { terms: [...terms], invalid };
}
