import { Inject, Injectable, Logger } from '@nestjs/common';
import type { WebClient } from '@slack/web-api';
import { DiskImageStorage } from '@vca/shared';
import type { RoundUpdate, ThreadRef } from '../chat/chat-adapter.interface';
import type { RoundView } from '../chat/round-view';
import { parseFeedbackCustomId } from '../discord/discord-custom-id.util';
import { BoundedMap } from '../discord/shared/bounded-map.util';
import { RoundUpdateQueue, type RoundSlot } from '../discord/shared/round-update-queue.util';
import { SLACK_CONFIG, type SlackConfig } from './slack-config.schema';
import { SlackConnection } from './slack-connection.service';
import { SLACK_NUMBER_REACTIONS, renderSlackRerollBlock, renderSlackResult, renderSlackStatus } from './slack-round.renderer';
import { parseSlackThreadId } from './slack-thread.util';

interface RoundMessage extends RoundSlot {
  channel: string;
  threadTs: string;
  ts?: string;
}

function slackError(err: unknown): string | undefined {
  return (err as { data?: { error?: string } }).data?.error;
}

/**
 * The working message of each round in its Slack thread: posted when the round starts, edited
 * in place (chat.update) with queue position and progress, and finally turned into the result
 * (images via files.uploadV2, Block Kit buttons, number reactions). A deleted working message
 * is replaced by a new one.
 */
@Injectable()
export class SlackRoundMessages {
  private readonly logger = new Logger('SlackAdapter');
  private readonly rounds: RoundUpdateQueue<RoundMessage>;
  /** `channel:ts` of a result message → image ids by candidate (for number reactions). */
  private readonly resultImages = new BoundedMap<string, string[]>(10_000);

  constructor(
    private readonly connection: SlackConnection,
    private readonly storage: DiskImageStorage,
    @Inject(SLACK_CONFIG) config: SlackConfig,
  ) {
    this.rounds = new RoundUpdateQueue(config.SLACK_PROGRESS_EDIT_MS, (roundId, err) => this.logger.error(`round ${roundId}: ${err.message}`));
  }

  begin(channel: string, threadTs: string, roundId: string, index: number): Promise<void> {
    const slot = this.rounds.slot(roundId, () => ({ channel, threadTs }));
    slot.index = index;
    return this.rounds.run(roundId, slot, async () => {
      if (!slot.ts) await this.show(slot, renderSlackStatus({ kind: 'queued', dialogueId: '', roundId, position: null }, index)!);
    });
  }

  deliver(thread: ThreadRef, update: RoundUpdate): Promise<void> {
    const slot = this.rounds.slot(update.roundId, () => parseSlackThreadId(thread.threadId));
    return this.rounds.run(update.roundId, slot, async (arrival) => {
      if (update.kind === 'completed') {
        await this.postResult(slot, update.round);
        this.rounds.done(update.roundId);
        return;
      }
      const eta = update.kind === 'progress' ? this.rounds.etaSeconds(slot, update) : null;
      const text = renderSlackStatus(update, slot.index, eta);
      if (text === null) return;
      if (update.kind === 'failed') {
        await this.show(slot, text, [{ type: 'section', text: { type: 'mrkdwn', text } }, renderSlackRerollBlock(update.roundId)]);
        this.rounds.done(update.roundId);
        return;
      }
      if (this.rounds.statusDue(slot, arrival, update)) await this.show(slot, text);
    });
  }

  /** Image id of candidate `n` on a result message, null if it is not one of ours. */
  async imageOfReaction(channel: string, ts: string, candidate: number): Promise<string | null> {
    const key = `${channel}:${ts}`;
    let images = this.resultImages.get(key);
    if (!images) {
      // After a restart: read the message back; its buttons carry the image ids.
      const replies = await this.client().conversations.replies({ channel, ts, limit: 200 });
      const message = replies.messages?.find((m) => m.ts === ts);
      if (!message?.blocks) return null;
      images = message.blocks.flatMap((b) => {
        const first = (b as { elements?: Array<{ action_id?: string }> }).elements?.[0]?.action_id;
        const parsed = first ? parseFeedbackCustomId(first) : null;
        return parsed ? [parsed.imageId] : [];
      });
      this.resultImages.set(key, images);
    }
    return images[candidate] ?? null;
  }

  private client(): WebClient {
    return this.connection.app!.client;
  }

  private async postResult(state: RoundMessage, round: RoundView): Promise<void> {
    const client = this.client();
    // One files.uploadV2 per candidate, concurrently: each is three calls (URL, upload, complete).
    const fileIds = await Promise.all(
      round.images.map(async (img) => {
        // No channel: the file stays private to the app and is shown by the message's image blocks.
        const uploaded = (await client.filesUploadV2({ file: await this.storage.get(img.storageKey), filename: `round${round.index}-${img.candidateIndex + 1}.png` })) as {
          files?: Array<{ files?: Array<{ id?: string }> }>;
        };
        return uploaded.files?.[0]?.files?.[0]?.id ?? '';
      }),
    );
    const { text, blocks } = renderSlackResult(round, fileIds);
    const ts = await this.show(state, text, blocks);
    this.resultImages.set(`${state.channel}:${ts}`, round.images.map((i) => i.id));
    for (const name of SLACK_NUMBER_REACTIONS.slice(0, round.images.length)) {
      await client.reactions.add({ channel: state.channel, timestamp: ts, name }).catch((err: Error) => this.logger.warn(`could not add :${name}: ${err.message}`));
    }
  }

  /** Edits the working message, or posts a new one in the thread when there is none or it was deleted. */
  private async show(state: RoundMessage, text: string, blocks: Array<Record<string, unknown>> = [{ type: 'section', text: { type: 'mrkdwn', text } }]): Promise<string> {
    const client = this.client();
    this.rounds.markEdited(state);
    if (state.ts) {
      try {
        await client.chat.update({ channel: state.channel, ts: state.ts, text, blocks: blocks as never });
        return state.ts;
      } catch (err) {
        if (slackError(err) !== 'message_not_found') throw err;
        this.logger.warn(`working message ${state.ts} was deleted; posting a new one`);
      }
    }
    const posted = await client.chat.postMessage({ channel: state.channel, thread_ts: state.threadTs, text, blocks: blocks as never });
    state.ts = posted.ts!;
    return state.ts;
  }
}
