import { Inject, Injectable } from '@nestjs/common';
import type { WebClient } from '@slack/web-api';
import { SLACK_CONFIG, type SlackConfig } from './slack-config.schema';

/** Group membership is read at most this often (usergroups.users.list is rate-limited, tier 2). */
const MEMBERS_TTL_MS = 60_000;

/**
 * Who the Slack moderators are: members of SLACK_MODERATOR_GROUP_ID (scope usergroups:read),
 * read at most once a minute. Used by `/vca-mod` and, only when the block list or the quota
 * would refuse a message, to let a moderator's own message through.
 */
@Injectable()
export class SlackModerators {
  private members: { users: Set<string>; at: number } | null = null;

  constructor(@Inject(SLACK_CONFIG) private readonly config: SlackConfig) {}

  async isModerator(client: WebClient, userId: string): Promise<boolean> {
    const group = this.config.SLACK_MODERATOR_GROUP_ID;
    if (!group) return false;
    if (!this.members || Date.now() - this.members.at > MEMBERS_TTL_MS) {
      const list = await client.usergroups.users.list({ usergroup: group });
      this.members = { users: new Set(list.users ?? []), at: Date.now() };
    }
    return this.members.users.has(userId);
  }

  /**
   * For the message path: a failed group lookup (Slack down, rate-limited) counts as "not a
   * moderator", so the author gets the core's refusal instead of no answer at all.
   */
  check(client: WebClient, userId: string): () => Promise<boolean> {
    return () => this.isModerator(client, userId).catch(() => false);
  }
}
