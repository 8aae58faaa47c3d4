import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { WebClient } from '@slack/web-api';
import { isCoreError } from '@vca/core';
import { ChatModerationService } from '../discord/shared/chat-moderation.service';
import { SLACK_CONFIG, type SlackConfig } from './slack-config.schema';
import { SlackConnection } from './slack-connection.service';
import { SLACK_MOD_USAGE, parseSlackModCommand } from './slack-mod-command.parser';

/** Group membership is read at most this often (usergroups.users.list is rate-limited, tier 2). */
const MEMBERS_TTL_MS = 60_000;

/**
 * `/vca-mod …` (issue 6): only members of SLACK_MODERATOR_GROUP_ID (scope usergroups:read);
 * answers are ephemeral (response_url), exports go to the moderator's direct messages
 * (im:write, files:write). Trigger: slash command.
 */
@Injectable()
export class SlackModerationListener implements OnModuleInit {
  private readonly logger = new Logger('SlackAdapter');
  private members: { users: Set<string>; at: number } | null = null;

  constructor(
    private readonly connection: SlackConnection,
    private readonly moderation: ChatModerationService,
    @Inject(SLACK_CONFIG) private readonly config: SlackConfig,
  ) {}

  onModuleInit(): void {
    this.connection.app?.command('/vca-mod', async ({ ack, command, respond, client }) => {
      await ack();
      if (!(await this.isModerator(client, command.user_id))) {
        this.logger.warn(`/vca-mod refused for ${command.user_id} (not in the moderator group)`);
        await respond({ response_type: 'ephemeral', text: ':no_entry: Only members of the moderator group may use this command.' });
        return;
      }
      const parsed = parseSlackModCommand(command.text);
      if (!parsed) return void (await respond({ response_type: 'ephemeral', text: SLACK_MOD_USAGE }));
      try {
        const answer = await this.moderation.execute('slack', command.user_id, parsed);
        if (answer.file) {
          const dm = await client.conversations.open({ users: command.user_id });
          await client.filesUploadV2({ channel_id: dm.channel!.id!, file: answer.file.data, filename: answer.file.name, initial_comment: answer.text });
        }
        await respond({ response_type: 'ephemeral', text: answer.file ? `${answer.text} The file is in your direct messages.` : answer.text });
      } catch (err) {
        if (!isCoreError(err)) throw err;
        await respond({ response_type: 'ephemeral', text: `:warning: ${err.message}` });
      }
    });
  }

  private async isModerator(client: WebClient, userId: string): Promise<boolean> {
    const group = this.config.SLACK_MODERATOR_GROUP_ID;
    if (!group) return false;
    if (!this.members || Date.now() - this.members.at > MEMBERS_TTL_MS) {
      const list = await client.usergroups.users.list({ usergroup: group });
      this.members = { users: new Set(list.users ?? []), at: Date.now() };
    }
    return this.members.users.has(userId);
  }
}
