import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Queue, QueueEvents, type Worker } from 'bullmq';
import { QueueName } from '@vca/shared';
import { JobRegistry, TrainingQueue, createJobWorker, jobKey, redisOptionsFromUrl, type JobDefinition } from '@vca/queue';
import { GPU_SERVER_CONFIG, type GpuServerConfig } from '../config/gpu-server-config.token';
import { MetricsService } from '../metrics/metrics.service';
import { ModelService } from '../model/model.service';
import { BaseModelVersion } from '../training/base-model.registrar';
import { JobProcessorFor } from './job-processor.decorator';
import type { JobProcessor } from './job-processor.interface';

/** Queues this app can consume (each process takes those WORKER_QUEUES names). */
const CONSUMED_QUEUES = [QueueName.Generation, QueueName.Training] as const;
const QUEUE_OF = { generation: QueueName.Generation, training: QueueName.Training } as const;

/**
 * Wires the `@JobProcessorFor` providers to BullMQ workers. The registry is checked before any
 * worker starts, so a declared job with no processor stops the boot (style anchor 5).
 */
@Injectable()
export class JobWorkersService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobWorkersService.name);
  private readonly workers: Worker[] = [];
  private trainingQueue: TrainingQueue | null = null;
  private started: Promise<void> = Promise.resolve();
  private readonly failureWatch: { queue: Queue; events: QueueEvents }[] = [];
  readonly registry = new JobRegistry();
  private readonly processors = new Map<string, JobProcessor<JobDefinition>>();

  constructor(
    @Inject(GPU_SERVER_CONFIG) private readonly config: GpuServerConfig,
    private readonly discovery: DiscoveryService,
    private readonly metrics: MetricsService,
    private readonly model: ModelService,
    // Optional: a module composed without it (tests) starts generation without waiting.
    @Optional() private readonly baseModel?: BaseModelVersion,
  ) {}

  /** The queues this process consumes (WORKER_QUEUES). */
  get consumedQueues(): QueueName[] {
    return this.config.WORKER_QUEUES.map((q) => QUEUE_OF[q]);
  }

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: JobProcessorFor.KEY })) {
      const def = this.discovery.getMetadataByDecorator(JobProcessorFor, wrapper);
      const processor = wrapper.instance as JobProcessor<JobDefinition> | undefined;
      if (!def || !processor) continue;
      this.processors.set(jobKey(def.queue, def.name), processor);
      this.registry.register(def, (payload, ctx) => this.timed(def, () => processor.handle(payload, ctx)));
    }
    this.registry.assertComplete(CONSUMED_QUEUES);
    if (!this.config.WORKERS_ENABLED) {
      this.logger.log('workers disabled (WORKERS_ENABLED=false): HTTP only');
      return;
    }
    // Not awaited: Nest would hold the HTTP server back until Redis answers; /health shows it.
    this.started = this.startWorkers().catch((err: Error) => this.logger.error(`starting workers failed: ${err.message}`));
  }

  private async startWorkers(): Promise<void> {
    const common = {
      redisUrl: this.config.REDIS_URL,
      prefix: this.config.QUEUE_PREFIX,
      registry: this.registry,
      lockDurationMs: this.config.JOB_LOCK_MS,
    };
    const consumed = this.consumedQueues;
    // Without a model every generation job would fail here and burn its retries; leave them to
    // servers that can run them (and /health says why this one does not).
    if (!consumed.includes(QueueName.Generation)) {
      this.logger.log('generation queue not consumed here (WORKER_QUEUES)');
    } else if (this.model.loaded) {
      // Images name the base version that made them: registered before the first job runs.
      await this.baseModel?.ready;
      this.workers.push(createJobWorker({ ...common, queue: QueueName.Generation, concurrency: this.config.GENERATION_CONCURRENCY }));
    } else {
      this.logger.error('model not loaded: this server does not take generation jobs (see /health)');
    }
    if (consumed.includes(QueueName.Training)) {
      this.workers.push(
        // Training takes the whole device for a long time: one at a time, and a generous lock.
        createJobWorker({ ...common, queue: QueueName.Training, concurrency: 1, lockDurationMs: this.config.TRAINING_JOB_LOCK_MS }),
      );
    } else {
      this.logger.log('training queue not consumed here (WORKER_QUEUES)');
    }
    for (const worker of this.workers) {
      worker.on('error', (err) => this.logger.warn(`worker ${worker.name}: ${err.message}`));
      worker.on('failed', (job, err) => {
        this.metrics.jobs.inc({ queue: worker.name, outcome: 'failed_attempt' });
        this.logger.warn(`job ${job?.id} attempt ${job?.attemptsMade} failed: ${err.message}`);
      });
    }
    for (const queue of consumed) await this.watchFinalFailures(queue);
    if (consumed.includes(QueueName.Training)) {
      this.trainingQueue = new TrainingQueue({ redisUrl: this.config.REDIS_URL, prefix: this.config.QUEUE_PREFIX });
      await this.trainingQueue.scheduleNightly({ cron: this.config.TRAINING_CRON, tz: this.config.TRAINING_TZ });
    }
    this.logger.log(
      `workers started for ${consumed.join(', ')}` +
        (this.trainingQueue ? `; nightly training at "${this.config.TRAINING_CRON}" ${this.config.TRAINING_TZ}` : ''),
    );
  }

  /** Resolves when every worker is connected and consuming (tests, readiness). */
  async waitUntilReady(): Promise<void> {
    await this.started;
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  get running(): boolean {
    return this.workers.length > 0 && this.workers.every((w) => w.isRunning());
  }

  private async timed<T>(def: JobDefinition, run: () => Promise<T>): Promise<T> {
    const end = this.metrics.jobSeconds.startTimer({ queue: def.queue });
    try {
      const result = await run();
      this.metrics.jobs.inc({ queue: def.queue, outcome: 'completed' });
      return result;
    } finally {
      end();
    }
  }

  /**
   * Final failures come from QueueEvents rather than the worker's own 'failed' event: a job whose
   * worker was killed too often is failed by another worker's stalled-job check, which emits no
   * worker event. Every GPU server hears each failure; the processors' reports are idempotent.
   */
  private async watchFinalFailures(queueName: QueueName): Promise<void> {
    const connection = redisOptionsFromUrl(this.config.REDIS_URL);
    const queue = new Queue(queueName, { connection, prefix: this.config.QUEUE_PREFIX });
    const events = new QueueEvents(queueName, { connection, prefix: this.config.QUEUE_PREFIX });
    queue.on('error', () => undefined);
    events.on('error', () => undefined);
    events.on('failed', ({ jobId, failedReason }) => void this.finalFailure(queue, jobId, failedReason));
    this.failureWatch.push({ queue, events });
    await events.waitUntilReady();
  }

  private async finalFailure(queue: Queue, jobId: string, reason: string): Promise<void> {
    try {
      const job = await queue.getJob(jobId);
      if (!job) return;
      const processor = this.processors.get(jobKey(queue.name, job.name));
      await processor?.onFinalFailure?.(job.data, new Error(reason), jobId);
    } catch (err) {
      this.logger.error(`reporting the failure of job ${jobId} failed: ${(err as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    // Graceful close lets running jobs finish; a killed process is handled by stalled-job checks.
    await Promise.all(this.workers.splice(0).map((w) => w.close()));
    await this.trainingQueue?.close();
    for (const { queue, events } of this.failureWatch.splice(0)) {
      await events.close();
      await queue.close();
    }
  }
}
