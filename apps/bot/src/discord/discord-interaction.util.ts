import { Logger } from '@nestjs/common';
import { MessageFlags, RESTJSONErrorCodes, type InteractionEditReplyOptions, type Message, type RepliableInteraction } from 'discord.js';
import { isDiscordError } from './discord-round-messages.service';

const logger = new Logger('DiscordAdapter');

/** Interaction tokens that are no longer usable: too late (3 s / 15 min), or answered already. */
const EXPIRED = [RESTJSONErrorCodes.UnknownInteraction, RESTJSONErrorCodes.UnknownWebhook, RESTJSONErrorCodes.InvalidWebhookToken, RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged];

/**
 * Acknowledges within Discord's 3 s window (style anchor 14: acknowledge first, then work).
 * Returns false when the token has expired; the caller then carries on and posts normally.
 */
export async function deferOrFalse(interaction: RepliableInteraction, ephemeral: boolean): Promise<boolean> {
  try {
    await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
    return true;
  } catch (err) {
    if (!isDiscordError(err, ...EXPIRED)) throw err;
    // 40060: the same interaction delivered again (the first delivery acknowledged it).
    const why = isDiscordError(err, RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged) ? 'was acknowledged already (a redelivery)' : 'expired before it was acknowledged';
    logger.warn(`interaction ${interaction.id} ${why}; continuing without it`);
    return false;
  }
}

/** Edits the deferred answer; an expired token (after 15 min) is a log line, not an error. */
export async function editReplyOrNull(interaction: RepliableInteraction, options: string | InteractionEditReplyOptions): Promise<Message | null> {
  try {
    return await interaction.editReply(options);
  } catch (err) {
    if (!isDiscordError(err, ...EXPIRED, RESTJSONErrorCodes.UnknownMessage)) throw err;
    logger.warn(`interaction ${interaction.id}: answer could not be edited (token expired or message deleted)`);
    return null;
  }
}
