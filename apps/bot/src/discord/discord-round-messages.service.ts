import { Inject, Injectable, Logger } from '@nestjs/common';
import { DiskImageStorage } from '@vca/shared';
import { DiscordAPIError, RESTJSONErrorCodes, type Message, type SendableChannels } from 'discord.js';
import { performance } from 'node:perf_hooks';
import type { RoundUpdate, ThreadRef } from '../chat/chat-adapter.interface';
import { DISCORD_CONFIG, type DiscordConfig } from './discord-config.schema';
import { DiscordConnection } from './discord-connection.service';
import { NUMBER_REACTIONS, parseFeedbackCustomId } from './discord-custom-id.util';
import { renderButtons, renderResultText, renderStatus } from './discord-round.renderer';

interface RoundMessage {
  channelId: string;
  index?: number;
  messageId?: string;
  /** Updates of one round run one after another, in arrival order. */
  chain: Promise<void>;
  /** Arrival number of the newest update: an older status edit still waiting is skipped. */
  latest: number;
  lastEditAt: number;
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
  private readonly rounds = new Map<string, RoundMessage>();
  /** Result message id → image ids by candidate (for number reactions); refilled from buttons. */
  private readonly resultImages = new Map<string, string[]>();

  constructor(
    private readonly connection: DiscordConnection,
    private readonly storage: DiskImageStorage,
    @Inject(DISCORD_CONFIG) private readonly config: DiscordConfig,
  ) {}

  /** Called by the listeners right after the core stored a round: posts its working message. */
  begin(threadChannelId: string, roundId: string, index: number): Promise<void> {
    const state = this.state(roundId, threadChannelId);
    state.index = index;
    return this.enqueue(roundId, state, async () => {
      if (!state.messageId) await this.show(state, { content: renderStatus({ kind: 'queued', dialogueId: '', roundId, position: null }, index)! });
    });
  }

  deliver(thread: ThreadRef, update: RoundUpdate): Promise<void> {
    const state = this.state(update.roundId, thread.threadId);
    const arrival = ++state.latest;
    return this.enqueue(update.roundId, state, async () => {
      if (update.kind === 'completed') {
        // The relay times result → posted around this call (OverheadRecorder 'post').
        await this.postResult(state, update.round);
        this.rounds.delete(update.roundId);
        return;
      }
      const content = renderStatus(update, state.index);
      if (content === null) return; // an update kind this adapter does not render
      if (update.kind === 'failed') {
        await this.show(state, { content, components: [] });
        this.rounds.delete(update.roundId);
        return;
      }
      if (arrival < state.latest) return; // a newer status is queued behind this one
      const final = update.kind === 'progress' && update.step >= update.totalSteps;
      if (update.kind === 'progress' && !final && performance.now() - state.lastEditAt < this.config.DISCORD_PROGRESS_EDIT_MS) return;
      await this.show(state, { content });
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
    state.lastEditAt = performance.now();
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

  private state(roundId: string, channelId: string): RoundMessage {
    let state = this.rounds.get(roundId);
    if (!state) {
      state = { channelId, chain: Promise.resolve(), latest: 0, lastEditAt: 0 };
      this.rounds.set(roundId, state);
    }
    return state;
  }

  private enqueue(roundId: string, state: RoundMessage, task: () => Promise<void>): Promise<void> {
    const next = state.chain.then(task).catch((err: Error) => this.logger.error(`round ${roundId}: ${err.message}`));
    state.chain = next;
    return next;
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
