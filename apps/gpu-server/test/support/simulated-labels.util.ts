import type { DataSource } from 'typeorm';
import { ConversationService, FeedbackService, RuleBasedPromptRefiner, type GenerationQueuePort } from '@vca/core';
import { writeFixtureRewardVersion } from '@vca/reward';
import { DiskImageStorage, type GenerationJob } from '@vca/shared';
import { SceneOracle, SceneRenderer, encodePng, simulateRound, type CommunityTaste } from '@vca/world';

/** Holds the job a conversation would enqueue, so a test can answer it with its own images. */
class HeldQueue implements GenerationQueuePort {
  last: GenerationJob | null = null;
  async enqueue(job: GenerationJob): Promise<{ jobId: string }> {
    this.last = job;
    return { jobId: `held-${job.roundId}` };
  }
}

/** A community that likes dark outlines and dislikes the others (no prompt ever names them). */
export const DARK_OUTLINE_TASTE: CommunityTaste = { outline: { dark: 1, none: -1, light: -1 }, textured: 0, shaded: 0, tilted: 0 };

/**
 * Labels a simulated community gives, stored as the product stores them: each dialogue's first
 * round through the conversation core (its candidates rendered scenes in open styles, PNGs in
 * the image store), each simulated rater's pick through the feedback service.
 */
export async function seedSimulatedLabels(o: { dataSource: DataSource; imageDir: string; dialogues: number; taste?: CommunityTaste; seed?: number; raters?: number }): Promise<void> {
  const held = new HeldQueue();
  const conversation = new ConversationService(o.dataSource, held, new RuleBasedPromptRefiner(), { candidates: 4, steps: 4, guidanceScale: 2.5 });
  const feedback = new FeedbackService(o.dataSource);
  const storage = new DiskImageStorage(o.imageDir);
  const renderer = new SceneRenderer({ size: 64 });
  const oracle = new SceneOracle();
  for (let d = 0; d < o.dialogues; d++) {
    // Every candidate shows what was asked; they differ in the styles the community cares about.
    const sim = simulateRound(o.seed ?? 11, d, o.taste ?? DARK_OUTLINE_TASTE, renderer, oracle, { errorRate: 0, raters: o.raters ?? 3 });
    await conversation.handleMessage({ platform: 'web', workspaceId: 'local', channelId: 'c', threadId: `seed-${d}`, userId: `owner-${d}`, text: sim.prompt });
    const job = held.last!;
    const images = [];
    for (const [i, c] of sim.candidates.entries()) {
      const stored = await storage.put(encodePng(c.image));
      images.push({ candidateIndex: i, seed: job.candidates[i]!.seed, strength: 1, storageKey: stored.key, contentHash: stored.contentHash, width: 64, height: 64 });
    }
    const round = (await conversation.recordGenerationResult({ roundId: job.roundId, modelVersion: 'seeded', loraVersions: [], steps: 4, guidanceScale: 2.5, images, elapsedMs: 1 }))!;
    for (const [r, votes] of sim.votes.entries()) {
      await feedback.recordFeedback({ platform: 'web', userId: `rater-${r}`, imageId: round.images[votes.pick]!.id, signal: 'pick', source: 'web', platformEventId: `${d}-${r}-pick` });
    }
  }
}

/** A tiny trained reward version (see @vca/reward's fixture) written where the training stage writes them. */
export const writeTinyRewardVersion = (dir: string, seed = 1, modelDir = 'models/default'): Promise<void> => writeFixtureRewardVersion(dir, { modelDir, seed });
