import type { Platform } from '../entities/enums';

/**
 * A community is where a dialogue happened: `<platform>:<workspace_id>` — a Discord guild
 * (`discord:<guild id>`), a Slack team (`slack:<team id>`), the web chat (`web:local`).
 * Model versions trained on one community's labels carry this id; null means global.
 */
export function communityIdOf(platform: Platform | string, workspaceId: string): string {
  if (!platform || !workspaceId) throw new Error('communityIdOf needs a platform and a workspace id');
  return `${platform}:${workspaceId}`;
}

/** The key of a community in per-community records: its id, or `global` for null. */
export const GLOBAL_COMMUNITY_KEY = 'global';
export function communityKey(communityId: string | null): string {
  return communityId ?? GLOBAL_COMMUNITY_KEY;
}
