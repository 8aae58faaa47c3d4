import { Inject, Injectable, Logger } from '@nestjs/common';
import { DiskImageStorage } from '@vca/shared';
import { DiscordAPIError, RESTJSONErrorCodes, type Message, type SendableChannels } from 'discord.js';
import type { RoundUpdate, ThreadRef } from '../chat/chat-adapter.interface';
import { DISCORD_CONFIG, type DiscordConfig } from './discord-config.schema';
import { DiscordConnection } from './discord-connection.service';
import { NUMBER_REACTIONS, parseFeedbackCustomId } from './discord-custom-id.util';
import { renderButtons, renderRerollRow, renderResultText, renderStatus } from './discord-round.renderer';
import { BoundedMap } from './shared/bounded-map.util';
import { RoundUpdateQueue, type RoundSlot } from './shared/round-update-queue.util';

interface RoundMessage extends RoundSlot {
  channelId: string;
  messageId?: string;
}

export function isDiscordError(err: unknown, ...codes: number[]): boolean {
  return err instanceof DiscordAPIError && codes.includes(Number(err.code));
}

/**
 * The working message of each round (issue 6): posted when the round starts, edited in place
 * with queue position and progress, and finally turned into the result (images, buttons,
 * number reactions). A deleted working message is replaced by a new one; a deleted thread ends
 * the round's updates with a log line.
 */
@Injectable()
export class DiscordRoundMessages {
  private readonly logger = new Logger('DiscordAdapter');
  private readonly rounds: RoundUpdateQueue<RoundMessage>;
  /** Result message id → image ids by candidate (for number reactions); refilled from buttons. */
  private readonly resultImages = new BoundedMap<string, string[]>(10_000);

  constructor(
    private readonly connection: DiscordConnection,
    private readonly storage: DiskImageStorage,
    @Inject(DISCORD_CONFIG) config: DiscordConfig,
  ) {
    this.rounds = new RoundUpdateQueue(config.DISCORD_PROGRESS_EDIT_MS, (roundId, err) => this.logger.error(`round ${roundId}: ${err.message}`));
  }

  /** Called by the listeners right after the core stored a round: posts its working message. */
  begin(threadChannelId: string, roundId: string, index: number): Promise<void> {
    const slot = this.rounds.slot(roundId, () => ({ channelId: threadChannelId }));
    slot.index = index;
    return this.rounds.run(roundId, slot, async () => {
      if (!slot.messageId) await this.show(slot, { content: renderStatus({ kind: 'queued', dialogueId: '', roundId, position: null }, index)! });
    });
  }

  deliver(thread: ThreadRef, update: RoundUpdate): Promise<void> {
    const slot = this.rounds.slot(update.roundId, () => ({ channelId: thread.threadId }));
    return this.rounds.run(update.roundId, slot, async (arrival) => {
      if (update.kind === 'completed') {
        // The relay times result → posted around this call (OverheadRecorder 'post').
        await this.postResult(slot, update.round);
        this.rounds.done(update.roundId);
        return;
      }
      const eta = update.kind === 'progress' ? this.rounds.etaSeconds(slot, update) : null;
      const content = renderStatus(update, slot.index, eta);
      if (content === null) return; // an update kind this adapter does not render
      if (update.kind === 'failed') {
        await this.show(slot, { content, components: [renderRerollRow(update.roundId)] });
        this.rounds.done(update.roundId);
        return;
      }
      if (this.rounds.statusDue(slot, arrival, update)) await this.show(slot, { content });
    });
  }

  /** Image id of candidate `n` (0-based) on a result message, null if it is not one of ours. */
  async imageOfReaction(message: Message, candidate: number): Promise<string | null> {
    let images = this.resultImages.get(message.id);
    if (!images) {
      const full = message.partial ? await message.fetch() : message;
      if (full.author?.id !== this.connection.client?.user?.id) return null;
      images = imagesFromComponents(full);
      this.resultImages.set(message.id, images);
    }
    return images[candidate] ?? null;
  }

  private async postResult(state: RoundMessage, round: Parameters<typeof renderResultText>[0]): Promise<void> {
    const files = await Promise.all(
      round.images.map(async (img) => ({ attachment: await this.storage.get(img.storageKey), name: `round${round.index}-${img.candidateIndex + 1}.png` })),
    );
    const payload = { content: renderResultText(round), files, components: renderButtons(round) };
    const message = await this.show(state, payload);
    if (!message) return;
    this.resultImages.set(message.id, round.images.map((i) => i.id));
    for (const emoji of NUMBER_REACTIONS.slice(0, round.images.length)) {
      await message.react(emoji).catch((err: Error) => this.logger.warn(`could not add reaction ${emoji}: ${err.message}`));
    }
  }

  /** Edits the working message, or posts a new one when there is none or it was deleted. */
  private async show(
    state: RoundMessage,
    payload: { content: string; files?: Array<{ attachment: Buffer; name: string }>; components?: ReturnType<typeof renderButtons> },
  ): Promise<Message | null> {
    const channel = await this.channel(state.channelId);
    if (!channel) return null;
    this.rounds.markEdited(state);
    if (state.messageId) {
      try {
        return await channel.messages.edit(state.messageId, { ...payload, attachments: [] });
      } catch (err) {
        if (!isDiscordError(err, RESTJSONErrorCodes.UnknownMessage)) throw err;
        this.logger.warn(`working message ${state.messageId} was deleted; posting a new one`);
      }
    }
    const message = await channel.send(payload);
    state.messageId = message.id;
    return message;
  }

  private async channel(id: string): Promise<(SendableChannels & { messages: { edit: (id: string, o: object) => Promise<Message> } }) | null> {
    const client = this.connection.client;
    if (!client) return null;
    try {
      const channel = await client.channels.fetch(id);
      if (channel?.isSendable() && 'messages' in channel) return channel as never;
    } catch (err) {
      if (!isDiscordError(err, RESTJSONErrorCodes.UnknownChannel, RESTJSONErrorCodes.MissingAccess)) throw err;
    }
    this.logger.warn(`thread ${id} is gone; round updates for it are dropped`);
    return null;
  }
}

/** Candidate rows hold one image id each (see renderButtons). */
function imagesFromComponents(message: Message): string[] {
  const images: string[] = [];
  for (const row of message.components) {
    const ids = 'components' in row ? (row.components as Array<{ customId?: string | null }>).map((c) => parseFeedbackCustomId(c.customId ?? '')?.imageId) : [];
    const id = ids.find((x) => x);
    if (id) images.push(id);
  }
  return images;
}
