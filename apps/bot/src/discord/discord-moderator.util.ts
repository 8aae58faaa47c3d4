import type { APIInteractionGuildMember, GuildMember } from 'discord.js';

/**
 * Whether a member holds DISCORD_MODERATOR_ROLE_ID (unset: nobody does). Works on the member of
 * a message (a GuildMember) and of an interaction (either shape); reads no API, only the payload.
 */
export function hasModeratorRole(member: GuildMember | APIInteractionGuildMember | null | undefined, roleId: string | undefined): boolean {
  const roles = member?.roles;
  if (!roleId || !roles) return false;
  return Array.isArray(roles) ? roles.includes(roleId) : roles.cache.has(roleId);
}
