import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isCoreError } from '@vca/core';
import { parseFeedbackCustomId } from '../discord/discord-custom-id.util';
import { ThreadChatService } from '../discord/shared/thread-chat.service';
import { SlackConnection } from './slack-connection.service';
import { SlackRoundMessages } from './slack-round-messages.service';
import { candidateOfSlackReaction } from './slack-round.renderer';

const SIGNAL_TEXT = { up: ':+1:', down: ':-1:', pick: ':star:', tie: '= (tie)' } as const;

/**
 * Ratings (issue 6). Triggers and scopes:
 * - Block Kit buttons `vca:<up|down|pick>:<image>` (interactivity): toggle a label, answered with
 *   an ephemeral message (chat:write);
 * - `reaction_added` / `reaction_removed` (reactions:read): :one: … :keycap_ten: on a result is a
 *   👍 on that candidate; removing it revokes the label.
 */
@Injectable()
export class SlackFeedbackListener implements OnModuleInit {
  private readonly logger = new Logger('SlackAdapter');

  constructor(
    private readonly connection: SlackConnection,
    private readonly chat: ThreadChatService,
    private readonly rounds: SlackRoundMessages,
  ) {}

  onModuleInit(): void {
    const app = this.connection.app;
    if (!app) return;

    app.action(/^vca:(up|down|pick|tie):/, async ({ ack, body, action, client }) => {
      await ack();
      const parsed = parseFeedbackCustomId((action as { action_id: string }).action_id);
      if (!parsed || body.type !== 'block_actions') return;
      const actionTs = (action as { action_ts?: string }).action_ts ?? String(Date.now());
      let text: string;
      try {
        const outcome = await this.chat.toggle({ platform: 'slack', userId: body.user.id, imageId: parsed.imageId, signal: parsed.signal, source: 'button', eventId: `action:${body.user.id}:${actionTs}` });
        text = outcome === 'revoked' ? `${SIGNAL_TEXT[parsed.signal]} taken back.` : `${SIGNAL_TEXT[parsed.signal]} recorded — thanks!`;
      } catch (err) {
        if (!isCoreError(err)) throw err;
        text = `:warning: ${err.message}`;
      }
      const channel = body.channel?.id ?? body.container?.channel_id;
      if (channel) await client.chat.postEphemeral({ channel, user: body.user.id, text, thread_ts: body.message?.thread_ts });
    });

    app.event('reaction_added', async ({ event, body, context }) => {
      if (event.user === context.botUserId || event.item.type !== 'message') return;
      const candidate = candidateOfSlackReaction(event.reaction);
      if (candidate === null) return;
      const imageId = await this.rounds.imageOfReaction(event.item.channel, event.item.ts, candidate);
      if (!imageId) return;
      await this.quiet(() =>
        this.chat.rate({ platform: 'slack', userId: event.user, imageId, signal: 'up', source: 'reaction', eventId: (body as { event_id?: string }).event_id ?? `${event.item.ts}:${event.user}:${event.event_ts}` }),
      );
    });

    app.event('reaction_removed', async ({ event, context }) => {
      if (event.user === context.botUserId || event.item.type !== 'message') return;
      const candidate = candidateOfSlackReaction(event.reaction);
      if (candidate === null) return;
      const imageId = await this.rounds.imageOfReaction(event.item.channel, event.item.ts, candidate);
      if (!imageId) return;
      await this.quiet(() => this.chat.revoke({ platform: 'slack', userId: event.user, imageId, signal: 'up', source: 'reaction' }));
    });
  }

  private async quiet(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!isCoreError(err)) throw err;
      this.logger.warn(`reaction not recorded: ${err.message}`);
    }
  }
}
