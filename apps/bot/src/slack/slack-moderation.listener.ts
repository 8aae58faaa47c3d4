import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isCoreError } from '@vca/core';
import { ChatModerationService } from '../discord/shared/chat-moderation.service';
import { SlackConnection } from './slack-connection.service';
import { SLACK_MOD_USAGE, parseSlackModCommand } from './slack-mod-command.parser';
import { SlackModerators } from './slack-moderators.service';

/**
 * `/vca-mod …` (issue 6): only members of SLACK_MODERATOR_GROUP_ID (scope usergroups:read);
 * answers are ephemeral (response_url), exports go to the moderator's direct messages
 * (im:write, files:write). Trigger: slash command.
 */
@Injectable()
export class SlackModerationListener implements OnModuleInit {
  private readonly logger = new Logger('SlackAdapter');

  constructor(
    private readonly connection: SlackConnection,
    private readonly moderation: ChatModerationService,
    private readonly moderators: SlackModerators,
  ) {}

  onModuleInit(): void {
    this.connection.app?.command('/vca-mod', async ({ ack, command, respond, client }) => {
      await ack();
      if (!(await this.moderators.isModerator(client, command.user_id))) {
        this.logger.warn(`/vca-mod refused for ${command.user_id} (not in the moderator group)`);
        await respond({ response_type: 'ephemeral', text: ':no_entry: Only members of the moderator group may use this command.' });
        return;
      }
      const parsed = parseSlackModCommand(command.text);
      if (!parsed) return void (await respond({ response_type: 'ephemeral', text: SLACK_MOD_USAGE }));
      try {
        const answer = await this.moderation.execute('slack', command.user_id, parsed, command.team_id);
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
}
