import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isCoreError } from '@vca/core';
import { type ChatInputCommandInteraction, Events, type Message, RESTJSONErrorCodes, type ThreadChannel } from 'discord.js';
import { IMAGINE_COMMAND } from './discord-commands';
import { DISCORD_CONFIG, type DiscordConfig } from './discord-config.schema';
import { DiscordConnection } from './discord-connection.service';
import { deferOrFalse, editReplyOrNull } from './discord-interaction.util';
import { hasModeratorRole } from './discord-moderator.util';
import { DiscordRoundMessages, isDiscordError } from './discord-round-messages.service';
import { ThreadChatService } from './shared/thread-chat.service';

/** Discord caps thread names at 100 characters. */
function threadName(prompt: string): string {
  return prompt.length > 90 ? `${prompt.slice(0, 89)}…` : prompt;
}

/**
 * Starts and continues dialogues (issue 6): `/imagine` and a mention of the bot in a channel open
 * a thread on the starting message; every later message in such a thread is feedback for the
 * next round. Triggers: INTERACTION_CREATE (application command), MESSAGE_CREATE; needs the
 * MESSAGE_CONTENT intent for the text of thread replies.
 */
@Injectable()
export class DiscordDialogueListener implements OnModuleInit {
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
    client.on(Events.MessageCreate, (message) => void this.guard('message', () => this.onMessage(message)));
    client.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isChatInputCommand() && interaction.commandName === IMAGINE_COMMAND) void this.guard('/imagine', () => this.onImagine(interaction));
    });
  }

  private async onMessage(message: Message): Promise<void> {
    const me = this.connection.client?.user;
    if (!me || message.author.bot || !message.inGuild()) return;
    const text = message.content.replace(/<@!?\d+>/g, ' ').replace(/\s+/g, ' ').trim();
    const channel = message.channel;
    if (channel.isThread()) {
      // In a dialogue's thread every message is feedback; in another thread a mention starts
      // a dialogue right there (threads cannot hold threads).
      if (!text) return;
      if (!message.mentions.users.has(me.id) && !(await this.chat.isDialogueThread('discord', channel.id))) return;
      await this.round(channel, message.author.id, text, hasModeratorRole(message.member, this.config.DISCORD_MODERATOR_ROLE_ID));
      return;
    }
    if (!message.mentions.users.has(me.id)) return;
    if (!text) {
      await message.reply('Mention me with a prompt, e.g. `@bot a red fox in the snow`, or use `/imagine`.');
      return;
    }
    const moderator = hasModeratorRole(message.member, this.config.DISCORD_MODERATOR_ROLE_ID);
    // Checked before the thread is named after the prompt.
    const blocked = await this.chat.screen('discord', message.guildId, message.author.id, text, { moderator });
    if (blocked) {
      await message.reply(`⚠️ ${blocked.message}`);
      return;
    }
    const thread = await message.startThread({ name: threadName(text) });
    await this.round(thread, message.author.id, text, moderator);
  }

  private async onImagine(interaction: ChatInputCommandInteraction): Promise<void> {
    const prompt = interaction.options.getString('prompt', true).trim();
    const moderator = hasModeratorRole(interaction.member, this.config.DISCORD_MODERATOR_ROLE_ID);
    // A blocked prompt is answered to its author alone, before the intro would quote it in the
    // channel (fast: the block list is cached, well within Discord's 3 s).
    const blocked = interaction.guildId ? await this.chat.screen('discord', interaction.guildId, interaction.user.id, prompt, { moderator }) : null;
    if (blocked) {
      if (await deferOrFalse(interaction, true)) await editReplyOrNull(interaction, `⚠️ ${blocked.message}`);
      return;
    }
    const deferred = await deferOrFalse(interaction, false);
    const channel = interaction.channel ?? (await this.connection.client!.channels.fetch(interaction.channelId));
    if (!channel || !interaction.inGuild() || !channel.isSendable() || channel.isThread() || !('threads' in channel)) {
      const answer = 'Use /imagine in a server text channel; inside a dialogue thread, just type your feedback.';
      if (deferred) await editReplyOrNull(interaction, answer);
      return;
    }
    const intro = `🎨 <@${interaction.user.id}> started a dialogue: **${prompt.slice(0, 1800)}**`;
    // The thread hangs on the command's answer; with an expired token the bot posts normally.
    const starter = (deferred ? await editReplyOrNull(interaction, intro) : null) ?? (await channel.send(intro));
    let thread: ThreadChannel;
    try {
      thread = await starter.startThread({ name: threadName(prompt) });
    } catch (err) {
      if (!isDiscordError(err, RESTJSONErrorCodes.MissingPermissions, RESTJSONErrorCodes.MissingAccess)) throw err;
      await starter.reply('⚠️ I need the *Create Public Threads* and *Send Messages in Threads* permissions here.').catch(() => undefined);
      return;
    }
    await this.round(thread, interaction.user.id, prompt, moderator);
  }

  /** `moderator`: the author holds the moderator role (block list and quota do not apply). */
  private async round(thread: ThreadChannel, userId: string, text: string, moderator: boolean): Promise<void> {
    try {
      const { started, thread: ref } = await this.chat.post(
        {
          platform: 'discord',
          workspaceId: thread.guildId,
          channelId: thread.parentId ?? thread.id,
          threadId: thread.id,
          userId,
          text,
        },
        { moderator },
      );
      await this.rounds.begin(thread.id, started.round.id, started.round.index);
      this.chat.track(ref, started.round.id);
    } catch (err) {
      if (!isCoreError(err)) throw err;
      await thread.send(`⚠️ ${err.message}`);
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
