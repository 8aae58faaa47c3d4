import type { ModCommand } from '../discord/shared/chat-moderation.service';

/** `<@U123|name>` as Slack escapes a user in command text (manifest: should_escape true). */
const USER = /^<@([A-Z0-9]+)(?:\|[^>]*)?>$/;

/**
 * `/vca-mod` text → a moderator command:
 * `review [n]` · `approve <label>` · `reject <label> [reason…]` · `ban <@user|rater id> <reason…>` ·
 * `unban <@user|rater id>` · `export [pairs|dialogues]` · `retrain` · `block <term…>` ·
 * `unblock <term…>` · `blocklist` (this team's prompt block list) · `runs [n]` · `versions [kind]` ·
 * `rollback [version]` (the reward model serving this team). Values are checked by the
 * command schema; an unknown verb yields null (the caller shows the usage).
 */
export function parseSlackModCommand(text: string): ModCommand | null {
  const [verb = '', ...rest] = text.trim().split(/\s+/);
  const target = (word: string | undefined) => {
    const user = USER.exec(word ?? '');
    return user ? { userId: user[1] } : word ? { raterId: word } : {};
  };
  switch (verb.toLowerCase()) {
    case 'review':
      return { kind: 'review', limit: rest[0] ? Number(rest[0]) : undefined };
    case 'approve':
      return { kind: 'approve', labelId: rest[0] ?? '' };
    case 'reject':
      return { kind: 'reject', labelId: rest[0] ?? '', reason: rest.slice(1).join(' ') || undefined };
    case 'ban':
      return { kind: 'ban', ...target(rest[0]), reason: rest.slice(1).join(' ') };
    case 'unban':
      return { kind: 'unban', ...target(rest[0]) };
    case 'export':
      return { kind: 'export', format: (rest[0] as 'pairs' | 'dialogues' | undefined) ?? undefined };
    case 'retrain':
      return { kind: 'retrain' };
    case 'block':
      return { kind: 'block', term: rest.join(' ') };
    case 'unblock':
      return { kind: 'unblock', term: rest.join(' ') };
    case 'blocklist':
      return { kind: 'blocklist' };
    case 'runs':
      return { kind: 'runs', limit: rest[0] ? Number(rest[0]) : undefined };
    case 'versions':
      return { kind: 'versions', modelKind: (rest[0] as 'reward' | 'lora' | 'base' | undefined) ?? undefined };
    case 'rollback':
      return { kind: 'rollback', version: rest[0] };
    default:
      return null;
  }
}

export const SLACK_MOD_USAGE =
  'Usage: `/vca-mod review [n]` · `approve <label>` · `reject <label> [reason]` · `ban <@user|rater> <reason>` · `unban <@user|rater>` · `export [pairs|dialogues]` · `retrain` · `block <term>` · `unblock <term>` · `blocklist` · `runs [n]` · `versions [reward|lora|base]` · `rollback [version]`';
