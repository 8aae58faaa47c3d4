import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { MODEL_VERSION_KINDS, type ModelVersionKind } from '../entities/enums';
import { ModelVersionEntity } from '../entities/model-version.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { parseInput } from '../errors/parse-input.util';
import { isUuid } from '../errors/uuid.util';

const CommunityIdSchema = z.string().trim().min(3).max(200);

export const RegisterModelVersionSchema = z.object({
  name: z.string().trim().min(1).max(200),
  kind: z.enum(MODEL_VERSION_KINDS),
  /** Where the weights are; trained versions: relative to VERSIONS_DIR. */
  path: z.string().min(1),
  /** `<platform>:<workspace>` the version was trained for; null = global. */
  communityId: CommunityIdSchema.nullable().default(null),
  baseVersionId: z.string().uuid().nullable().default(null),
  trainingRunId: z.string().uuid().nullable().default(null),
  metrics: z.record(z.string(), z.number()).default({}),
  notes: z.record(z.string(), z.unknown()).default({}),
});
export type RegisterModelVersionInput = z.input<typeof RegisterModelVersionSchema>;

export interface ListModelVersionsFilter {
  kind?: ModelVersionKind;
  /** A community id, or null for global versions only; absent = every community. */
  communityId?: string | null;
}

/**
 * Model versions (base models, LoRAs, reward models) so every image can name what made and
 * scored it. "Active" is per (kind, community): `activate` deactivates only versions of the same
 * kind and community; `active(kind, community)` falls back to the global version.
 */
@Injectable()
export class ModelVersionService {
  constructor(private readonly dataSource: DataSource) {}

  /** Idempotent by name: registering an existing name returns the stored version unchanged. */
  async register(input: RegisterModelVersionInput): Promise<ModelVersionEntity> {
    const v = parseInput(RegisterModelVersionSchema, input);
    const repo = this.dataSource.getRepository(ModelVersionEntity);
    await this.dataSource.query(
      `INSERT INTO model_versions (id, name, kind, community_id, base_version_id, path, training_run_id, metrics, notes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb) ON CONFLICT (name) DO NOTHING`,
      [randomUUID(), v.name, v.kind, v.communityId, v.baseVersionId, v.path, v.trainingRunId, JSON.stringify(v.metrics), JSON.stringify(v.notes)],
    );
    return repo.findOneByOrFail({ name: v.name });
  }

  /**
   * The base model a GPU server loaded (called at boot): registered by name (idempotent, so every
   * server and restart finds the same row) and made the active base when none is active yet.
   */
  async registerBaseModel(name: string, path: string): Promise<ModelVersionEntity> {
    const version = await this.register({ name, kind: 'base', path });
    if (version.active) return version;
    return this.dataSource.transaction(async (em) => {
      await this.lockScope(em, 'base', null);
      const [row] = (await em.query(`SELECT 1 FROM model_versions WHERE kind = 'base' AND community_id IS NULL AND active LIMIT 1`)) as unknown[];
      if (row) return em.getRepository(ModelVersionEntity).findOneByOrFail({ id: version.id });
      return this.activateLocked(em, version);
    });
  }

  /** Versions oldest first, optionally of one kind and/or community (null = global only). */
  async list(filter: ListModelVersionsFilter = {}): Promise<ModelVersionEntity[]> {
    const qb = this.dataSource.getRepository(ModelVersionEntity).createQueryBuilder('v');
    if (filter.kind) qb.andWhere('v.kind = :kind', { kind: filter.kind });
    if (filter.communityId === null) qb.andWhere('v.community_id IS NULL');
    else if (filter.communityId !== undefined) qb.andWhere('v.community_id = :community', { community: filter.communityId });
    return qb.orderBy('v.created_at', 'ASC').addOrderBy('v.name', 'ASC').getMany();
  }

  async get(id: string): Promise<ModelVersionEntity | null> {
    if (!isUuid(id)) return null;
    return this.dataSource.getRepository(ModelVersionEntity).findOneBy({ id });
  }

  /**
   * The version of `kind` that serves `communityId`: the community's active one, else the active
   * global one, else null (no trained version: base behaviour).
   */
  async active(kind: ModelVersionKind, communityId: string | null = null): Promise<ModelVersionEntity | null> {
    const repo = this.dataSource.getRepository(ModelVersionEntity);
    if (communityId !== null) {
      const own = await repo.findOneBy({ kind, communityId, active: true });
      if (own) return own;
    }
    return repo.createQueryBuilder('v').where('v.kind = :kind AND v.community_id IS NULL AND v.active', { kind }).getOne();
  }

  /**
   * Makes a version the active one of its kind and community (the others of the same kind and
   * community are deactivated; other communities are untouched) and stamps `activated_at`.
   */
  async activate(id: string): Promise<ModelVersionEntity> {
    return this.dataSource.transaction(async (em) => {
      const version = await this.findOrThrow(em, id);
      await this.lockScope(em, version.kind, version.communityId);
      return this.activateLocked(em, version);
    });
  }

  /**
   * Undoes the latest activation of (kind, community): activates `toVersionId` (a version of the
   * same kind and community) or else the version that was active before the current one (the
   * latest `activated_at` before it, skipping versions rolled back earlier); with no such version
   * every version of the scope is deactivated (no trained version: base behaviour, or the global
   * fallback for a community). The version moved away from is marked in `notes.rolledBackAt` and
   * is not a rollback target again until it is activated explicitly. Returns the now active
   * version of the scope, or null.
   */
  async rollback(kind: ModelVersionKind, communityId: string | null, toVersionId?: string): Promise<ModelVersionEntity | null> {
    return this.dataSource.transaction(async (em) => {
      await this.lockScope(em, kind, communityId);
      const repo = em.getRepository(ModelVersionEntity);
      const scope = (await repo
        .createQueryBuilder('v')
        .setLock('pessimistic_write')
        .where('v.kind = :kind', { kind })
        .andWhere(communityId === null ? 'v.community_id IS NULL' : 'v.community_id = :community', { community: communityId })
        .getMany()) as ModelVersionEntity[];
      const current = scope.find((v) => v.active) ?? null;
      let target: ModelVersionEntity | null = null;
      if (toVersionId !== undefined) {
        target = scope.find((v) => v.id === toVersionId) ?? null;
        if (!target) {
          throw new CoreError(CoreErrorCode.InvalidInput, 'That version is not of this kind and community.', { toVersionId, kind, communityId });
        }
      } else {
        const before = current?.activatedAt?.getTime() ?? Number.POSITIVE_INFINITY;
        target =
          scope
            .filter((v) => v.id !== current?.id && v.activatedAt !== null && v.activatedAt.getTime() <= before && !v.notes?.rolledBackAt)
            .sort((a, b) => b.activatedAt!.getTime() - a.activatedAt!.getTime())[0] ?? null;
      }
      if (current && current.id !== target?.id) {
        await em.query(
          `UPDATE model_versions SET notes = notes || jsonb_build_object('rolledBackAt', now()::text, 'rolledBackTo', $2::text) WHERE id = $1`,
          [current.id, target?.id ?? null],
        );
      }
      if (target) return this.activateLocked(em, target);
      await em.query(
        `UPDATE model_versions SET active = false WHERE kind = $1 AND community_id IS NOT DISTINCT FROM $2 AND active`,
        [kind, communityId],
      );
      return null;
    });
  }

  private async findOrThrow(em: EntityManager, id: string): Promise<ModelVersionEntity> {
    const version = isUuid(id) ? await em.getRepository(ModelVersionEntity).findOneBy({ id }) : null;
    if (!version) throw new CoreError(CoreErrorCode.InvalidInput, 'No such model version.', { id });
    return version;
  }

  /** Serialises activations of one (kind, community) scope: exactly one active version at a time. */
  private async lockScope(em: EntityManager, kind: ModelVersionKind, communityId: string | null): Promise<void> {
    await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vca:model-active:${kind}:${communityId ?? ''}`]);
  }

  private async activateLocked(em: EntityManager, version: ModelVersionEntity): Promise<ModelVersionEntity> {
    await em.query(
      `UPDATE model_versions SET active = (id = $1),
              activated_at = CASE WHEN id = $1 THEN clock_timestamp() ELSE activated_at END,
              notes = CASE WHEN id = $1 THEN notes - 'rolledBackAt' - 'rolledBackTo' ELSE notes END
        WHERE kind = $2 AND community_id IS NOT DISTINCT FROM $3 AND (active OR id = $1)`,
      [version.id, version.kind, version.communityId],
    );
    return em.getRepository(ModelVersionEntity).findOneByOrFail({ id: version.id });
  }
}
