import { Injectable, type OnModuleInit } from '@nestjs/common';
import { isCoreError } from '@vca/core';
import { parseRoundRequestCustomId } from '../discord/discord-custom-id.util';
import { ThreadChatService } from '../discord/shared/thread-chat.service';
import { SlackConnection } from './slack-connection.service';
import { SlackModerators } from './slack-moderators.service';
import { SlackRoundMessages } from './slack-round-messages.service';
import { parseSlackThreadId } from './slack-thread.util';

/**
 * 🔁 Reroll (per round) and Vary (per candidate) Block Kit buttons `vca:<reroll|vary>:<id>`
 * (interactivity; issue 6): each click asks the core for a new round, whose working message is
 * posted in the dialogue's thread like any round; answered with an ephemeral message (chat:write).
 * The request id is (user, action_ts): a redelivered payload finds the round it made and posts
 * nothing.
 */
@Injectable()
export class SlackRoundRequestListener implements OnModuleInit {
  constructor(
    private readonly connection: SlackConnection,
    private readonly chat: ThreadChatService,
    private readonly rounds: SlackRoundMessages,
    private readonly moderators: SlackModerators,
  ) {}

  onModuleInit(): void {
    const app = this.connection.app;
    if (!app) return;
    app.action(/^vca:(reroll|vary):/, async ({ ack, body, action, client }) => {
      await ack();
      const parsed = parseRoundRequestCustomId((action as { action_id: string }).action_id);
      if (!parsed || body.type !== 'block_actions') return;
      const actionTs = (action as { action_ts?: string }).action_ts ?? String(Date.now());
      let text: string;
      try {
        const { requested, thread } = await this.chat.requestRound(
          {
            platform: 'slack',
            userId: body.user.id,
            kind: parsed.kind,
            targetId: parsed.targetId,
            eventId: `action:${body.user.id}:${actionTs}`,
          },
          { moderator: this.moderators.check(client, body.user.id) },
        );
        const round = requested.round;
        if (!requested.duplicate) {
          const { channel, threadTs } = parseSlackThreadId(thread.threadId);
          await this.rounds.begin(channel, threadTs, round.id, round.index);
          this.chat.track(thread, round.id);
        }
        text =
          parsed.kind === 'reroll'
            ? `:repeat: Rerolling as round ${round.index}.`
            : `:game_die: Varying ${round.userText.replace(/^\(vary (#\d+)\)$/, '$1')} as round ${round.index}.`;
      } catch (err) {
        if (!isCoreError(err)) throw err;
        text = `:warning: ${err.message}`;
      }
      const channel = body.channel?.id ?? body.container?.channel_id;
      if (channel) await client.chat.postEphemeral({ channel, user: body.user.id, text, thread_ts: body.message?.thread_ts });
    });
  }
}
