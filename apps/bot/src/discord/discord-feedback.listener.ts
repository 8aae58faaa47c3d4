import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isCoreError } from '@vca/core';
import { type ButtonInteraction, Events, type MessageReaction, type PartialMessageReaction, type PartialUser, type User } from 'discord.js';
import { DiscordConnection } from './discord-connection.service';
import { candidateOfReaction, parseFeedbackCustomId } from './discord-custom-id.util';
import { deferOrFalse, editReplyOrNull } from './discord-interaction.util';
import { DiscordRoundMessages } from './discord-round-messages.service';
import { ThreadChatService, type ToggleOutcome } from './shared/thread-chat.service';

const SIGNAL_EMOJI = { up: '👍', down: '👎', pick: '⭐', tie: '=' } as const;

/**
 * Ratings (issue 6): the 👍/👎/⭐ buttons under a round toggle a label (answered ephemerally);
 * a number reaction 1️⃣…🔟 is a 👍 on that candidate and removing it revokes the label.
 * Triggers: INTERACTION_CREATE (message component), MESSAGE_REACTION_ADD / _REMOVE (intent
 * GUILD_MESSAGE_REACTIONS).
 */
@Injectable()
export class DiscordFeedbackListener implements OnModuleInit {
  private readonly logger = new Logger('DiscordAdapter');

  constructor(
    private readonly connection: DiscordConnection,
    private readonly chat: ThreadChatService,
    private readonly rounds: DiscordRoundMessages,
  ) {}

  onModuleInit(): void {
    const client = this.connection.client;
    if (!client) return;
    client.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isButton() && parseFeedbackCustomId(interaction.customId)) void this.guard('button', () => this.onButton(interaction));
    });
    client.on(Events.MessageReactionAdd, (reaction, user) => void this.guard('reaction add', () => this.onReaction(reaction, user, 'add')));
    client.on(Events.MessageReactionRemove, (reaction, user) => void this.guard('reaction remove', () => this.onReaction(reaction, user, 'remove')));
  }

  private async onButton(interaction: ButtonInteraction): Promise<void> {
    const deferred = await deferOrFalse(interaction, true);
    const { signal, imageId } = parseFeedbackCustomId(interaction.customId)!;
    let answer: string;
    try {
      const outcome: ToggleOutcome = await this.chat.toggle({ platform: 'discord', userId: interaction.user.id, imageId, signal, source: 'button', eventId: interaction.id });
      answer = outcome === 'revoked' ? `${SIGNAL_EMOJI[signal]} taken back.` : `${SIGNAL_EMOJI[signal]} recorded — thanks!`;
    } catch (err) {
      if (!isCoreError(err)) throw err;
      answer = `⚠️ ${err.message}`;
    }
    if (deferred) await editReplyOrNull(interaction, answer);
  }

  private async onReaction(reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser, change: 'add' | 'remove'): Promise<void> {
    const me = this.connection.client?.user;
    if (!me || user.id === me.id) return;
    const candidate = candidateOfReaction(reaction.emoji.name);
    if (candidate === null) return;
    const imageId = await this.rounds.imageOfReaction(reaction.message as never, candidate);
    if (!imageId) return;
    const rating = { platform: 'discord' as const, userId: user.id, imageId, signal: 'up' as const, source: 'reaction' as const };
    try {
      if (change === 'add') {
        // Reaction events carry no id; the core also treats an identical active label as a duplicate.
        await this.chat.rate({ ...rating, eventId: `reaction:${reaction.message.id}:${user.id}:${candidate}:${Date.now()}` });
      } else {
        await this.chat.revoke(rating);
      }
    } catch (err) {
      if (!isCoreError(err)) throw err;
      this.logger.warn(`reaction by ${user.id} not recorded: ${err.message}`);
    }
  }

  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.error(`${what}: ${(err as Error).message}`);
    }
  }
}
