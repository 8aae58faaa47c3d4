import type { DataSource } from 'typeorm';
import { ConversationService, FeedbackService, RuleBasedPromptRefiner, type Platform, type RoundView } from '@vca/core';
import { RecordingQueue, fakeResult } from './fakes';

let counter = 0;

/**
 * Seeds training data through the real services: dialogues in a given community (platform +
 * workspace), one completed round of 4 candidates each, and labels.
 */
export class TrainingSeeder {
  readonly feedback: FeedbackService;
  private seq = 0;

  constructor(private readonly dataSource: DataSource) {
    this.feedback = new FeedbackService(dataSource);
  }

  async round(platform: Platform, workspaceId: string, prompt = 'a red kite over a beach'): Promise<RoundView> {
    const queue = new RecordingQueue();
    const conversation = new ConversationService(this.dataSource, queue, new RuleBasedPromptRefiner());
    counter += 1;
    await conversation.handleMessage({
      platform,
      workspaceId,
      channelId: 'channel-1',
      threadId: `train-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`,
      userId: 'owner',
      text: prompt,
    });
    return (await conversation.recordGenerationResult(fakeResult(queue.last())))!;
  }

  async label(round: RoundView, candidate: number, signal: 'up' | 'down' | 'pick' | 'tie', userId: string, platform: Platform = 'discord') {
    return this.feedback.recordFeedback({
      platform,
      userId,
      imageId: round.images[candidate]!.id,
      signal,
      source: 'button',
      platformEventId: `ts-${process.pid}-${++this.seq}`,
    });
  }

  /** `n` rounds in a community, each with one pick by a distinct rater: 3 pairs per round. */
  async pickedRounds(platform: Platform, workspaceId: string, n: number): Promise<RoundView[]> {
    const rounds: RoundView[] = [];
    for (let i = 0; i < n; i++) {
      const round = await this.round(platform, workspaceId, `a blue boat number ${i}`);
      await this.label(round, i % 4, 'pick', `rater-${workspaceId}-${i}`, platform);
      rounds.push(round);
    }
    return rounds;
  }
}
