import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isCoreError } from '@vca/core';
import { AttachmentBuilder, type ChatInputCommandInteraction, Events } from 'discord.js';
import { MODERATION_COMMAND } from './discord-commands';
import { DISCORD_CONFIG, type DiscordConfig } from './discord-config.schema';
import { DiscordConnection } from './discord-connection.service';
import { deferOrFalse, editReplyOrNull } from './discord-interaction.util';
import { hasModeratorRole } from './discord-moderator.util';
import { ChatModerationService, type ModCommand } from './shared/chat-moderation.service';

/** Discord message content limit. */
const MAX_CONTENT = 2000;

/**
 * `/vca-mod <review|approve|reject|ban|unban|export|retrain|block|unblock|blocklist|runs|versions|rollback>` (the
 * block list is the server's own): only members holding
 * DISCORD_MODERATOR_ROLE_ID; every answer is ephemeral (only the caller sees it).
 * Trigger: INTERACTION_CREATE (application command).
 */
@Injectable()
export class DiscordModerationListener implements OnModuleInit {
  private readonly logger = new Logger('DiscordAdapter');

  constructor(
    private readonly connection: DiscordConnection,
    private readonly moderation: ChatModerationService,
    @Inject(DISCORD_CONFIG) private readonly config: DiscordConfig,
  ) {}

  onModuleInit(): void {
    this.connection.client?.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isChatInputCommand() && interaction.commandName === MODERATION_COMMAND) {
        void this.onCommand(interaction).catch((err: Error) => this.logger.error(`/${MODERATION_COMMAND}: ${err.message}`));
      }
    });
  }

  private isModerator(interaction: ChatInputCommandInteraction): boolean {
    return hasModeratorRole(interaction.member, this.config.DISCORD_MODERATOR_ROLE_ID);
  }

  private async onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    if (!(await deferOrFalse(interaction, true))) return; // nobody would see an answer
    if (!this.isModerator(interaction)) {
      this.logger.warn(`/${MODERATION_COMMAND} refused for ${interaction.user.id} (no moderator role)`);
      await editReplyOrNull(interaction, '⛔ Only members with the moderator role may use this command.');
      return;
    }
    const o = interaction.options;
    const command = {
      kind: o.getSubcommand(true),
      limit: o.getInteger('limit') ?? undefined,
      labelId: o.getString('label') ?? undefined,
      reason: o.getString('reason') ?? undefined,
      raterId: o.getString('rater') ?? undefined,
      userId: (o.get('user')?.value as string | undefined) ?? undefined,
      format: o.getString('format') ?? undefined,
      term: o.getString('term') ?? undefined,
      modelKind: o.getString('kind') ?? undefined,
      version: o.getString('version') ?? undefined,
    } as ModCommand;
    try {
      const answer = await this.moderation.execute('discord', interaction.user.id, command, interaction.guildId ?? 'dm');
      const content = answer.text.length > MAX_CONTENT ? `${answer.text.slice(0, MAX_CONTENT - 1)}…` : answer.text;
      await editReplyOrNull(interaction, { content, files: answer.file ? [new AttachmentBuilder(answer.file.data, { name: answer.file.name })] : [] });
    } catch (err) {
      if (!isCoreError(err)) throw err;
      await editReplyOrNull(interaction, `⚠️ ${err.message}`);
    }
  }
}
