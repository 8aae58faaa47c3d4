import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { MODEL_VERSION_KINDS } from '../entities/enums';
import { ModelVersionEntity } from '../entities/model-version.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { parseInput } from '../errors/parse-input.util';

export const RegisterModelVersionSchema = z.object({
  name: z.string().trim().min(1).max(200),
  kind: z.enum(MODEL_VERSION_KINDS),
  path: z.string().min(1),
  baseVersionId: z.string().uuid().nullable().default(null),
  trainingRunId: z.string().uuid().nullable().default(null),
  metrics: z.record(z.string(), z.number()).default({}),
});
export type RegisterModelVersionInput = z.input<typeof RegisterModelVersionSchema>;

/** Model versions (base models and LoRAs) so every image can name what made it. */
@Injectable()
export class ModelVersionService {
  constructor(private readonly dataSource: DataSource) {}

  /** Idempotent by name: registering an existing name returns the stored version. */
  async register(input: RegisterModelVersionInput): Promise<ModelVersionEntity> {
    const v = parseInput(RegisterModelVersionSchema, input);
    const repo = this.dataSource.getRepository(ModelVersionEntity);
    await this.dataSource.query(
      `INSERT INTO model_versions (id, name, kind, base_version_id, path, training_run_id, metrics)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT (name) DO NOTHING`,
      [randomUUID(), v.name, v.kind, v.baseVersionId, v.path, v.trainingRunId, JSON.stringify(v.metrics)],
    );
    return repo.findOneByOrFail({ name: v.name });
  }

  async list(): Promise<ModelVersionEntity[]> {
    return this.dataSource.getRepository(ModelVersionEntity).find({ order: { createdAt: 'ASC', name: 'ASC' } });
  }

  /** Make one version active among those of its kind (one active base model, one active LoRA). */
  async activate(id: string): Promise<ModelVersionEntity> {
    return this.dataSource.transaction(async (em) => {
      const repo = em.getRepository(ModelVersionEntity);
      const version = await repo.findOneBy({ id });
      if (!version) throw new CoreError(CoreErrorCode.InvalidInput, 'No such model version.', { id });
      await em.query(`UPDATE model_versions SET active = (id = $1) WHERE kind = $2`, [id, version.kind]);
      return repo.findOneByOrFail({ id });
    });
  }
}
