import { Injectable, type OnModuleInit } from '@nestjs/common';
import { quotaText } from '../discord/shared/quota-text.util';
import { ThreadChatService } from '../discord/shared/thread-chat.service';
import { SlackConnection } from './slack-connection.service';
import { SlackModerators } from './slack-moderators.service';

/**
 * `/quota` (commands): how many rounds the caller asked for in the last 24 hours, how many are
 * left under DAILY_ROUND_QUOTA and when the next one frees; answered ephemerally.
 */
@Injectable()
export class SlackQuotaListener implements OnModuleInit {
  constructor(
    private readonly connection: SlackConnection,
    private readonly chat: ThreadChatService,
    private readonly moderators: SlackModerators,
  ) {}

  onModuleInit(): void {
    this.connection.app?.command('/quota', async ({ ack, command, respond, client }) => {
      await ack();
      const usage = await this.chat.quota('slack', command.user_id, { moderator: this.moderators.check(client, command.user_id) });
      await respond({ response_type: 'ephemeral', text: `:tickets: ${quotaText(usage)}` });
    });
  }
}
