import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { findBlockedTerm, normaliseTerm } from './prompt-terms.util';
import { PROMPT_POLICY_OPTIONS, PromptPolicyOptionsSchema, type PolicyScope, type PromptPolicyOptions } from './prompt-policy.types';

interface CachedTerms {
  terms: readonly string[];
  loadedAt: number;
}

/**
 * The prompt block list: global terms from configuration plus each workspace's own terms from
 * PostgreSQL. Sits on the message path, so a workspace's terms are read at most once per
 * `cacheTtlMs` (concurrent misses share one query) and served from memory in between; a change
 * made through `ModerationService` in this process invalidates the entry at once, other
 * processes see it within the TTL.
 */
@Injectable()
export class PromptPolicy {
  private readonly options: ReturnType<typeof PromptPolicyOptionsSchema.parse>;
  private readonly globalTerms: readonly string[];
  private readonly cache = new Map<string, CachedTerms>();
  private readonly loading = new Map<string, Promise<readonly string[]>>();
  /** Bumped by `invalidate`, so a load that started before a change does not cache stale terms. */
  private generation = 0;

  constructor(
    private readonly dataSource: DataSource,
    @Optional() @Inject(PROMPT_POLICY_OPTIONS) options: PromptPolicyOptions = {},
  ) {
    this.options = PromptPolicyOptionsSchema.parse(options ?? {});
    const terms = new Set<string>();
    for (const raw of this.options.globalTerms) {
      const term = normaliseTerm(raw);
      if (!term) throw new Error(`PromptPolicy: global term ${JSON.stringify(raw)} has nothing to match or is too long`);
      terms.add(term);
    }
    this.globalTerms = [...terms];
  }

  /** The configured global terms (normalised). */
  global(): readonly string[] {
    return this.globalTerms;
  }

  /** The first blocked term (global, then the workspace's) found in any of `texts`, else null. */
  async blockedTermIn(scope: PolicyScope, texts: readonly string[]): Promise<string | null> {
    const global = this.globalBlockedTermIn(texts);
    if (global) return global;
    return firstBlockedTerm(texts, await this.workspaceTerms(scope));
  }

  /** Only the global terms: no I/O (used before the workspace of a message is known). */
  globalBlockedTermIn(texts: readonly string[]): string | null {
    return firstBlockedTerm(texts, this.globalTerms);
  }

  /** Throws `PROMPT_BLOCKED` naming the term when one of `texts` contains a blocked term. */
  async assertAllowed(scope: PolicyScope, texts: readonly string[], what: 'message' | 'prompt' = 'message'): Promise<void> {
    const term = await this.blockedTermIn(scope, texts);
    if (term) throw promptBlocked(term, what);
  }

  /** The workspace's terms, from memory when loaded less than `cacheTtlMs` ago. */
  async workspaceTerms(scope: PolicyScope): Promise<readonly string[]> {
    const key = scopeKey(scope);
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.loadedAt < this.options.cacheTtlMs) return cached.terms;
    const pending = this.loading.get(key);
    if (pending) return pending;
    const generation = this.generation;
    const load = this.load(scope)
      .then((terms) => {
        if (generation === this.generation) this.remember(key, terms);
        return terms;
      })
      .finally(() => {
        if (this.loading.get(key) === load) this.loading.delete(key);
      });
    this.loading.set(key, load);
    return load;
  }

  /** Forget a workspace's cached terms (its moderators changed them); the next message reads them again. */
  invalidate(scope: PolicyScope): void {
    this.generation += 1;
    const key = scopeKey(scope);
    this.cache.delete(key);
    this.loading.delete(key);
  }

  private async load(scope: PolicyScope): Promise<readonly string[]> {
    const rows: Array<{ term: string }> = await this.dataSource.query(
      'SELECT term FROM prompt_block_terms WHERE platform = $1 AND workspace_id = $2 ORDER BY id',
      [scope.platform, scope.workspaceId],
    );
    return Object.freeze(rows.map((r) => r.term));
  }

  private remember(key: string, terms: readonly string[]): void {
    this.cache.delete(key); // re-inserted last: Map order is load order, the oldest is evicted first
    this.cache.set(key, { terms, loadedAt: Date.now() });
    while (this.cache.size > this.options.maxCachedWorkspaces) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }
}

/** The first of `terms` found in any of `texts` (texts in order), else null. */
function firstBlockedTerm(texts: readonly string[], terms: readonly string[]): string | null {
  if (terms.length === 0) return null;
  for (const text of texts) {
    const hit = findBlockedTerm(text, terms);
    if (hit) return hit;
  }
  return null;
}

function scopeKey(scope: PolicyScope): string {
  return `${scope.platform}\u0000${scope.workspaceId}`;
}

export function promptBlocked(term: string, what: 'message' | 'prompt'): CoreError {
  const subject = what === 'message' ? 'Your message contains' : 'The refined prompt contains';
  return new CoreError(
    CoreErrorCode.PromptBlocked,
    `${subject} a blocked term: "${term}". Rephrase it; if this is a mistake, a moderator can remove the term from the block list.`,
    { term },
  );
}
