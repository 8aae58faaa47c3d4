import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { WebClient } from '@slack/web-api';
import { isCoreError } from '@vca/core';
import { ThreadChatService } from '../discord/shared/thread-chat.service';
import { SlackConnection } from './slack-connection.service';
import { SlackModerators } from './slack-moderators.service';
import { SlackRoundMessages } from './slack-round-messages.service';
import { slackThreadId } from './slack-thread.util';

const MENTION = /<@[A-Z0-9]+(\|[^>]*)?>/g;

interface ThreadTarget {
  client: WebClient;
  team: string;
  channel: string;
  threadTs: string;
  user: string;
  text: string;
}

/**
 * Starts and continues dialogues (issue 6). Triggers and scopes:
 * - `/imagine <prompt>` (commands, chat:write): posts the prompt and opens the dialogue in its thread;
 * - `app_mention` (app_mentions:read): a mention starts a dialogue replying in thread_ts, or is
 *   feedback when it is made inside a dialogue's thread;
 * - `message` in a thread (channels:history / groups:history): every later reply is a round.
 */
@Injectable()
export class SlackDialogueListener implements OnModuleInit {
  private readonly logger = new Logger('SlackAdapter');

  constructor(
    private readonly connection: SlackConnection,
    private readonly chat: ThreadChatService,
    private readonly rounds: SlackRoundMessages,
    private readonly moderators: SlackModerators,
  ) {}

  onModuleInit(): void {
    const app = this.connection.app;
    if (!app) return;

    app.command('/imagine', async ({ ack, command, client, respond }) => {
      await ack();
      const prompt = command.text.trim();
      if (!prompt) return void (await respond({ response_type: 'ephemeral', text: 'Usage: `/imagine a red fox in the snow`' }));
      // A blocked prompt is answered to its author alone, before the starter message would quote it.
      const blocked = await this.chat.screen('slack', command.team_id || 'slack', command.user_id, prompt, {
        moderator: this.moderators.check(client, command.user_id),
      });
      if (blocked) return void (await respond({ response_type: 'ephemeral', text: `:warning: ${blocked.message}` }));
      let starterTs: string;
      try {
        starterTs = (await client.chat.postMessage({ channel: command.channel_id, text: `:art: <@${command.user_id}> started a dialogue: *${prompt}*` })).ts!;
      } catch (err) {
        // Typically not_in_channel: the command works anywhere, posting only where the bot was invited.
        const reason = (err as { data?: { error?: string } }).data?.error ?? (err as Error).message;
        await respond({ response_type: 'ephemeral', text: `:warning: I cannot post here (${reason}). Invite me with \`/invite @vca\` and try again.` });
        return;
      }
      const starter = { ts: starterTs };
      await this.round({ client, team: command.team_id, channel: command.channel_id, threadTs: starter.ts!, user: command.user_id, text: prompt });
    });

    app.event('app_mention', async ({ event, client, context }) => {
      if (!event.user) return;
      const text = event.text.replace(MENTION, ' ').replace(/\s+/g, ' ').trim();
      const threadTs = event.thread_ts ?? event.ts;
      if (!text) {
        await client.chat.postMessage({ channel: event.channel, thread_ts: threadTs, text: 'Mention me with a prompt, e.g. `@vca a red fox in the snow`, or use `/imagine`.' });
        return;
      }
      await this.round({ client, team: context.teamId ?? event.team ?? '', channel: event.channel, threadTs, user: event.user, text });
    });

    app.event('message', async ({ event, client, context }) => {
      const m = event as { subtype?: string; bot_id?: string; thread_ts?: string; ts: string; text?: string; user?: string; channel: string; team?: string };
      if (m.subtype || m.bot_id || !m.user || !m.thread_ts || m.thread_ts === m.ts || !m.text) return;
      if (context.botUserId && m.text.includes(`<@${context.botUserId}>`)) return; // app_mention handles it
      if (!(await this.chat.isDialogueThread('slack', slackThreadId(m.channel, m.thread_ts)))) return;
      const text = m.text.replace(MENTION, ' ').replace(/\s+/g, ' ').trim();
      if (text) await this.round({ client, team: context.teamId ?? m.team ?? '', channel: m.channel, threadTs: m.thread_ts, user: m.user, text });
    });
  }

  private async round(t: ThreadTarget): Promise<void> {
    try {
      const { started, thread } = await this.chat.post(
        {
          platform: 'slack',
          workspaceId: t.team || 'slack',
          channelId: t.channel,
          threadId: slackThreadId(t.channel, t.threadTs),
          userId: t.user,
          text: t.text,
        },
        // Asked only when the block list or the quota would refuse the message (a Slack API call, cached a minute).
        { moderator: this.moderators.check(t.client, t.user) },
      );
      await this.rounds.begin(t.channel, t.threadTs, started.round.id, started.round.index);
      this.chat.track(thread, started.round.id);
    } catch (err) {
      if (!isCoreError(err)) {
        this.logger.error(`round in ${t.channel}/${t.threadTs}: ${(err as Error).message}`);
        throw err;
      }
      await t.client.chat.postMessage({ channel: t.channel, thread_ts: t.threadTs, text: `:warning: ${err.message}` });
    }
  }
}
