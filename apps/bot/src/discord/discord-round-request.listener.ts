import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isCoreError } from '@vca/core';
import { type ButtonInteraction, Events } from 'discord.js';
import { DISCORD_CONFIG, type DiscordConfig } from './discord-config.schema';
import { DiscordConnection } from './discord-connection.service';
import { hasModeratorRole } from './discord-moderator.util';
import { parseRoundRequestCustomId } from './discord-custom-id.util';
import { deferOrFalse, editReplyOrNull } from './discord-interaction.util';
import { DiscordRoundMessages } from './discord-round-messages.service';
import { ThreadChatService } from './shared/thread-chat.service';

/**
 * 🔁 Reroll (per round) and Vary (per candidate) buttons (issue 6): each click asks the core for
 * a new round, whose working message is then posted in the dialogue's thread like any round.
 * Trigger: INTERACTION_CREATE (message component). Deferred ephemerally within Discord's 3 s; the
 * interaction id is the request id, so a redelivered interaction finds the round it made and
 * posts nothing.
 */
@Injectable()
export class DiscordRoundRequestListener implements OnModuleInit {
  private readonly logger = new Logger('DiscordAdapter');

  constructor(
    private readonly connection: DiscordConnection,
    private readonly chat: ThreadChatService,
    private readonly rounds: DiscordRoundMessages,
    @Inject(DISCORD_CONFIG) private readonly config: DiscordConfig,
  ) {}

  onModuleInit(): void {
    const client = this.connection.client;
    if (!client) return;
    client.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isButton() && parseRoundRequestCustomId(interaction.customId)) void this.guard(() => this.onButton(interaction));
    });
  }

  private async onButton(interaction: ButtonInteraction): Promise<void> {
    const deferred = await deferOrFalse(interaction, true);
    const { kind, targetId } = parseRoundRequestCustomId(interaction.customId)!;
    let answer: string;
    try {
      const { requested, thread } = await this.chat.requestRound(
        { platform: 'discord', userId: interaction.user.id, kind, targetId, eventId: interaction.id },
        { moderator: hasModeratorRole(interaction.member, this.config.DISCORD_MODERATOR_ROLE_ID) },
      );
      const round = requested.round;
      if (!requested.duplicate) {
        await this.rounds.begin(thread.threadId, round.id, round.index);
        this.chat.track(thread, round.id);
      }
      answer = kind === 'reroll' ? `🔁 Rerolling as round ${round.index}.` : `🎲 Varying ${round.userText.replace(/^\(vary (#\d+)\)$/, '$1')} as round ${round.index}.`;
    } catch (err) {
      if (!isCoreError(err)) throw err;
      answer = `⚠️ ${err.message}`;
    }
    if (deferred) await editReplyOrNull(interaction, answer);
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.error(`round request button: ${(err as Error).message}`);
    }
  }
}
