import type { Worker } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueName, type TrainingJob } from '@vca/shared';
import { JobRegistry, TrainJob, TrainingQueue, createJobWorker } from '@vca/queue';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix, until } from './redis-test.util';

describe(TrainingQueue.name, () => {
  let prefix: string;
  let training: TrainingQueue;
  let worker: Worker | undefined;

  beforeEach(() => {
    prefix = uniquePrefix('training');
    training = new TrainingQueue({ redisUrl: TEST_REDIS_URL, prefix });
  });
  afterEach(async () => {
    await worker?.close();
    await training.close();
    await dropPrefix(prefix);
  });

  it('keeps one nightly schedule however often the servers boot, next run at 03:00 UTC', async () => {
    await training.scheduleNightly({ cron: '0 3 * * *', tz: 'UTC' });
    await training.scheduleNightly({ cron: '0 3 * * *', tz: 'UTC' });
    expect(await training.queue.getJobSchedulersCount()).toBe(1);
    const next = await training.nextNightlyRun();
    expect(next).not.toBeNull();
    expect([next!.getUTCHours(), next!.getUTCMinutes()]).toEqual([3, 0]);
    expect(next!.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
    expect(await training.unscheduleNightly()).toBe(true);
    expect(await training.queue.getJobSchedulersCount()).toBe(0);
  });

  it('delivers scheduled and manual runs to the training worker', async () => {
    const seen: TrainingJob[] = [];
    const registry = new JobRegistry().register(TrainJob, async (job) => {
      seen.push(job);
      return { trainingRunId: `run-${seen.length}`, status: 'recorded', data: { labels: 0 }, stages: {} };
    });
    worker = createJobWorker({ redisUrl: TEST_REDIS_URL, prefix, queue: QueueName.Training, registry });
    // Every second (6-field cron) so the test does not wait for 03:00.
    await training.scheduleNightly({ cron: '* * * * * *', tz: 'UTC' });
    await training.requestRun({ trigger: 'manual', requireApproval: true });
    await until(() => seen.some((j) => j.trigger === 'nightly') && seen.some((j) => j.trigger === 'manual'), 5_000, 'both runs');
    expect(seen.find((j) => j.trigger === 'manual')!.requireApproval).toBe(true);
    expect(seen.find((j) => j.trigger === 'nightly')!.requireApproval).toBe(false);
  });
});
