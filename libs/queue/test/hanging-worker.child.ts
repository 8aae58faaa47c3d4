/**
 * A generation worker in its own process whose handler never finishes: the stalled-job test kills
 * it with SIGKILL mid-job, like an OOM kill or a lost host.
 * argv: redisUrl prefix lockDurationMs
 */
import { QueueName } from '@vca/shared';
import { GenerateJob, JobRegistry, createJobWorker } from '../src';

const [redisUrl, prefix, lockMs] = process.argv.slice(2);
const registry = new JobRegistry().register(GenerateJob, async (_job, ctx) => {
  await ctx.reportProgress({ step: 0, totalSteps: 2 });
  process.stdout.write('started\n');
  return new Promise(() => undefined);
});
createJobWorker({ redisUrl: redisUrl!, prefix: prefix!, queue: QueueName.Generation, registry, lockDurationMs: Number(lockMs) });
