import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { JobLookupService } from '../http/job-lookup.service';
import { MetricsService } from './metrics.service';

/**
 * `vca_queue_jobs{queue,state}`, read from Redis at scrape time: the backlog every GPU server
 * sees alike, for autoscaling and alerts. (Rounds still in the per-user lists in front of the
 * generation queue are not counted; the bot's queue positions cover those.)
 */
@Injectable()
export class QueueDepthCollector implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly jobs: JobLookupService,
  ) {}

  onModuleInit(): void {
    const jobs = this.jobs;
    new Gauge({
      name: 'vca_queue_jobs',
      help: 'Jobs in each BullMQ queue by state (waiting, active, delayed, failed).',
      labelNames: ['queue', 'state'] as const,
      registers: [this.metrics.registry],
      async collect() {
        try {
          for (const { queue, counts } of await jobs.counts()) {
            for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
          }
        } catch {
          // Redis down: the scrape still answers; /health reports the outage.
        }
      },
    });
  }
}
