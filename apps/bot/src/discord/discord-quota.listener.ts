import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { type ChatInputCommandInteraction, Events } from 'discord.js';
import { QUOTA_COMMAND } from './discord-commands';
import { DISCORD_CONFIG, type DiscordConfig } from './discord-config.schema';
import { DiscordConnection } from './discord-connection.service';
import { deferOrFalse, editReplyOrNull } from './discord-interaction.util';
import { hasModeratorRole } from './discord-moderator.util';
import { quotaText } from './shared/quota-text.util';
import { ThreadChatService } from './shared/thread-chat.service';

/**
 * `/quota`: how many rounds the caller asked for in the last 24 hours, how many are left under
 * DAILY_ROUND_QUOTA and when the next one frees; ephemeral. Trigger: INTERACTION_CREATE.
 */
@Injectable()
export class DiscordQuotaListener implements OnModuleInit {
  private readonly logger = new Logger('DiscordAdapter');

  constructor(
    private readonly connection: DiscordConnection,
    private readonly chat: ThreadChatService,
    @Inject(DISCORD_CONFIG) private readonly config: DiscordConfig,
  ) {}

  onModuleInit(): void {
    this.connection.client?.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isChatInputCommand() && interaction.commandName === QUOTA_COMMAND) {
        void this.onQuota(interaction).catch((err: Error) => this.logger.error(`/${QUOTA_COMMAND}: ${err.message}`));
      }
    });
  }

  private async onQuota(interaction: ChatInputCommandInteraction): Promise<void> {
    if (!(await deferOrFalse(interaction, true))) return;
    const moderator = hasModeratorRole(interaction.member, this.config.DISCORD_MODERATOR_ROLE_ID);
    const usage = await this.chat.quota('discord', interaction.user.id, { moderator });
    await editReplyOrNull(interaction, `🎟️ ${quotaText(usage)}`);
  }
}
