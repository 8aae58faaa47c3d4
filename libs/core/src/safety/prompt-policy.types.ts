import { z } from 'zod';
import { PLATFORMS, type Platform } from '../entities/enums';

/** Where a block list applies: one workspace of one platform (Discord guild, Slack team, web `local`). */
export interface PolicyScope {
  platform: Platform;
  workspaceId: string;
}

export const PolicyScopeSchema = z.object({
  platform: z.enum(PLATFORMS),
  workspaceId: z.string().trim().min(1).max(200),
});

export const PromptPolicyOptionsSchema = z.object({
  /** Terms blocked everywhere (the bot's `PROMPT_BLOCKLIST`); normalised on construction. */
  globalTerms: z.array(z.string()).default([]),
  /** How long a workspace's terms are served from memory before they are read again. */
  cacheTtlMs: z.number().int().min(0).default(30_000),
  /** Workspaces whose terms are kept in memory at once (least recently loaded evicted first). */
  maxCachedWorkspaces: z.number().int().min(1).default(10_000),
});
export type PromptPolicyOptions = z.input<typeof PromptPolicyOptionsSchema>;
export const PROMPT_POLICY_OPTIONS = Symbol('PROMPT_POLICY_OPTIONS');

/** Most terms one workspace may block (each message is matched against all of them). */
export const MAX_WORKSPACE_TERMS = 500;

/**
 * Who wrote a message, as far as the rules care: the adapter knows whether the author is a
 * moderator (a Discord role, a Slack user group, the admin token); the core stays platform-free.
 * A function is asked only when a rule would refuse the message (so an adapter whose check
 * costs a platform call pays it only then).
 */
export interface MessageAuthor {
  moderator?: boolean | (() => Promise<boolean>);
}

export interface BlockedTerm {
  platform: Platform;
  workspaceId: string;
  term: string;
  createdBy: string;
  createdAt: Date;
}

export interface BlockedTermsView {
  /** Terms blocked in every workspace (configuration; not editable by moderators). */
  global: string[];
  /** Terms moderators added (of one workspace, or of all when no scope was given), oldest first. */
  workspace: BlockedTerm[];
}
