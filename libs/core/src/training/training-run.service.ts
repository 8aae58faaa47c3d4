import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { CuratedDataService } from '../curation/curated-data.service';
import { TRAINING_RUN_TRIGGERS } from '../entities/enums';
import { TrainingRunEntity, type TrainingDataSummary } from '../entities/training-run.entity';
import { parseInput } from '../errors/parse-input.util';

export const ScheduleRunSchema = z.object({
  trigger: z.enum(TRAINING_RUN_TRIGGERS).default('nightly'),
  /** When the schedule fired (default: now). Labels up to this instant form the run's data. */
  scheduledFor: z.date().optional(),
  baseModelVersionId: z.string().uuid().nullable().default(null),
  /** Train only on moderator-approved labels. */
  requireApproval: z.boolean().default(false),
});
export type ScheduleRunInput = z.input<typeof ScheduleRunSchema>;

export interface ScheduledRun {
  run: TrainingRunEntity;
  /** What curated data the run would use (for a repeated schedule firing: what it recorded then). */
  data: TrainingDataSummary;
}

/**
 * Training runs. For now the nightly job only records a run and reports the curated data it would
 * train on; the training job itself comes with a later issue.
 */
@Injectable()
export class TrainingRunService {
  private readonly curated: CuratedDataService;

  constructor(private readonly dataSource: DataSource) {
    this.curated = new CuratedDataService(dataSource);
  }

  async recordScheduledRun(input: ScheduleRunInput = {}): Promise<ScheduledRun> {
    const o = parseInput(ScheduleRunSchema, input);
    const cutoff = o.scheduledFor ?? new Date();
    const repo = this.dataSource.getRepository(TrainingRunEntity);
    const existing = await repo.findOneBy({ trigger: o.trigger, scheduledFor: cutoff });
    if (existing) return { run: existing, data: existing.dataSummary };
    const data = await this.curated.summarize({ cutoff, requireApproval: o.requireApproval });
    // No trainer exists yet: the run is recorded as skipped with the data it would have used.
    await this.dataSource.query(
      `INSERT INTO training_runs (id, status, trigger, scheduled_for, data_summary, data_cutoff, base_model_version_id)
       VALUES ($1, 'skipped', $2, $3, $4::jsonb, $3, $5)
       ON CONFLICT (trigger, scheduled_for) DO NOTHING`,
      [randomUUID(), o.trigger, cutoff, JSON.stringify(data), o.baseModelVersionId],
    );
    const run = await repo.findOneByOrFail({ trigger: o.trigger, scheduledFor: cutoff });
    return { run, data: run.dataSummary };
  }

  async listRuns(limit = 50): Promise<TrainingRunEntity[]> {
    return this.dataSource.getRepository(TrainingRunEntity).find({
      order: { createdAt: 'DESC' },
      take: Math.min(Math.max(limit, 1), 500),
    });
  }
}
