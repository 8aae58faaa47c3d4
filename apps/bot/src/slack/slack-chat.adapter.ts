import { Injectable } from '@nestjs/common';
import { ConnectedChatAdapter } from '../chat/connected-chat.adapter';
import { SlackConnection } from './slack-connection.service';
import { SlackRoundMessages } from './slack-round-messages.service';

/**
 * Slack as a chat platform (issue 6): starts the Bolt app (when SLACK_BOT_TOKEN is set) and
 * posts each round's updates into the dialogue's thread. Inbound events are SlackModule's listeners.
 */
@Injectable()
export class SlackChatAdapter extends ConnectedChatAdapter {
  readonly platform = 'slack' as const;

  constructor(connection: SlackConnection, messages: SlackRoundMessages) {
    super(connection, messages);
  }
}
