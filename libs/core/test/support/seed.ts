import type { DataSource } from 'typeorm';
import { ConversationService, RuleBasedPromptRefiner, type RoundView } from '@vca/core';
import { RecordingQueue, fakeResult } from './fakes';

let counter = 0;

/** Start a dialogue in a fresh thread and complete its first round; returns the round with 4 images. */
export async function completedRound(dataSource: DataSource, prompt = 'a red kite over a beach', owner = 'owner'): Promise<RoundView> {
  const queue = new RecordingQueue();
  const conversation = new ConversationService(dataSource, queue, new RuleBasedPromptRefiner());
  counter += 1;
  await conversation.handleMessage({
    platform: 'discord',
    workspaceId: 'guild-1',
    channelId: 'channel-1',
    threadId: `seed-${process.pid}-${counter}`,
    userId: owner,
    text: prompt,
  });
  return (await conversation.recordGenerationResult(fakeResult(queue.last())))!;
}
