import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { CoreErrorCode, ModelVersionService, TrainingRunService, createTestDatabase, runMigrations, type TestDatabase } from '@vca/core';

const stageRecord = (decision: 'promoted' | 'kept' | 'skipped' | 'failed', producedVersionId: string | null = null) => ({
  decision,
  reason: `${decision} for a test`,
  metrics: { accuracy: 0.7 },
  producedVersionId,
  seconds: 1.5,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
});

describe(TrainingRunService.name, () => {
  let db: TestDatabase;
  let runs: TrainingRunService;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_train' });
    runs = new TrainingRunService(db.dataSource);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('schedules one run per schedule firing, so a retried job does not add another', async () => {
    const scheduledFor = new Date('2026-11-26T03:00:00Z');
    const first = await runs.schedule({ trigger: 'nightly', scheduledFor, jobId: 'job-1' });
    const retry = await runs.schedule({ trigger: 'nightly', scheduledFor, jobId: 'job-1' });
    expect(retry.id).toBe(first.id);
    expect(first).toMatchObject({ status: 'scheduled', trigger: 'nightly', attempts: 0, jobId: 'job-1', stages: {}, progress: {}, report: null });
    expect(first.dataCutoff.toISOString()).toBe(scheduledFor.toISOString());
    const manual = await runs.schedule({ trigger: 'manual', scheduledFor, communityId: 'discord:g1', requireApproval: true });
    expect(manual.id).not.toBe(first.id);
    expect(manual.options).toEqual({ requireApproval: true, communityId: 'discord:g1' });
    expect((await runs.listRuns()).map((r) => r.id).sort()).toEqual([first.id, manual.id].sort());
  });

  it('walks scheduled → running → succeeded, recording stages and progress, and refuses illegal transitions', async () => {
    const run = await runs.schedule({ trigger: 'manual', scheduledFor: new Date('2026-11-27T10:00:00Z') });
    // Nothing is recorded on a run that is not running.
    await expect(runs.recordStage(run.id, { stage: 'reward', communityId: null }, stageRecord('kept'))).rejects.toMatchObject({
      code: CoreErrorCode.InvalidInput,
      message: expect.stringContaining('it is scheduled'),
    });
    await expect(runs.finish(run.id, 'succeeded', 'nope')).rejects.toThrow(/Cannot end as succeeded training run .*: it is scheduled/);
    expect(await runs.reportProgress(run.id, { fraction: 0.1, message: 'x' })).toBe(false);

    const started = await runs.start(run.id);
    expect(started.resumed).toBe(false);
    expect(started.run).toMatchObject({ status: 'running', attempts: 1 });
    expect(started.run.startedAt).toBeInstanceOf(Date);
    expect(await runs.reportProgress(run.id, { stage: 'reward', communityId: null, fraction: 0.5, message: 'epoch 2/4' })).toBe(true);
    const versionId = randomUUID();
    await runs.recordStage(run.id, { stage: 'reward', communityId: null }, stageRecord('promoted', versionId));
    const recorded = await runs.recordStage(run.id, { stage: 'reward', communityId: 'discord:g1' }, stageRecord('kept'));
    expect(Object.keys(recorded.stages['reward']!).sort()).toEqual(['discord:g1', 'global']);
    expect(recorded.stages['reward']!['global']).toMatchObject({ decision: 'promoted', producedVersionId: versionId, metrics: { accuracy: 0.7 } });
    expect(recorded.producedModelVersionId).toBe(versionId);
    expect(recorded.progress).toMatchObject({ stage: 'reward', fraction: 0.5, message: 'epoch 2/4' });
    expect(recorded.heartbeatAt).toBeInstanceOf(Date);

    const done = await runs.finish(run.id, 'succeeded', 'reward/global: promoted');
    expect(done).toMatchObject({ status: 'succeeded', report: 'reward/global: promoted', error: null });
    expect(done.finishedAt).toBeInstanceOf(Date);
    // Ended is ended.
    await expect(runs.start(run.id)).rejects.toThrow(/Cannot start training run .*: it is succeeded/);
    await expect(runs.finish(run.id, 'failed', 'late', 'boom')).rejects.toMatchObject({ code: CoreErrorCode.InvalidInput });
    await expect(runs.recordStage(run.id, { stage: 'lora', communityId: null }, stageRecord('kept'))).rejects.toThrow(/it is succeeded/);
    await expect(runs.start('not-a-uuid')).rejects.toMatchObject({ code: CoreErrorCode.InvalidInput });
    await expect(runs.start(randomUUID())).rejects.toThrow(/No such training run/);
  });

  it('resumes a run left running by a dead worker (attempts count up, started_at kept)', async () => {
    const run = await runs.schedule({ trigger: 'manual', scheduledFor: new Date('2026-11-28T10:00:00Z') });
    const first = await runs.start(run.id);
    const second = await runs.start(run.id);
    expect(second.resumed).toBe(true);
    expect(second.run.attempts).toBe(2);
    expect(second.run.startedAt!.getTime()).toBe(first.run.startedAt!.getTime());
  });

  it('a scheduled run may end skipped or failed; a job that fails for good fails its run once', async () => {
    const skipped = await runs.schedule({ trigger: 'manual', scheduledFor: new Date('2026-11-29T10:00:00Z') });
    expect(await runs.finish(skipped.id, 'skipped', 'busy')).toMatchObject({ status: 'skipped', report: 'busy' });

    const run = await runs.schedule({ trigger: 'manual', scheduledFor: new Date('2026-11-29T11:00:00Z'), jobId: 'job-dies' });
    await runs.start(run.id);
    const failed = await runs.failByJob('job-dies', 'job stalled more than allowable limit');
    expect(failed).toMatchObject({ id: run.id, status: 'failed', error: 'job stalled more than allowable limit' });
    expect(failed!.report).toMatch(/stalled/);
    expect(await runs.failByJob('job-dies', 'again')).toBeNull();
    expect((await runs.getRun(run.id))!.error).toBe('job stalled more than allowable limit');
  });

  it('recordScheduledRun still counts the data and records a skipped run', async () => {
    const scheduledFor = new Date('2026-11-30T03:00:00Z');
    const first = await runs.recordScheduledRun({ trigger: 'nightly', scheduledFor });
    const again = await runs.recordScheduledRun({ trigger: 'nightly', scheduledFor });
    expect(again.run.id).toBe(first.run.id);
    expect(first.data).toMatchObject({ labels: 0, pairs: 0, ties: 0, raters: 0, dialogues: 0, rounds: 0 });
    expect(first.run.status).toBe('skipped');
  });
});

describe(ModelVersionService.name, () => {
  let db: TestDatabase;
  let models: ModelVersionService;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_models' });
    models = new ModelVersionService(db.dataSource);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('registers versions idempotently by name and keeps one active per kind', async () => {
    const base = await models.register({ name: 'vca-tiny-v1', kind: 'base', path: 'models/vca-tiny' });
    expect((await models.register({ name: 'vca-tiny-v1', kind: 'base', path: 'elsewhere' })).id).toBe(base.id);
    const lora1 = await models.register({ name: 'lora-1', kind: 'lora', path: 'loras/1.safetensors', baseVersionId: base.id });
    const lora2 = await models.register({ name: 'lora-2', kind: 'lora', path: 'loras/2.safetensors', baseVersionId: base.id, metrics: { pair_accuracy: 0.61 } });
    await models.activate(base.id);
    await models.activate(lora1.id);
    await models.activate(lora2.id);
    const active = (await models.list()).filter((m) => m.active).map((m) => m.name).sort();
    expect(active).toEqual(['lora-2', 'vca-tiny-v1']);
    expect((await models.list()).find((m) => m.name === 'lora-2')!.metrics).toEqual({ pair_accuracy: 0.61 });
  });

  it('keeps one active reward version per community, falls back to the global one', async () => {
    const g1 = await models.register({ name: 'reward-global-1', kind: 'reward', path: 'reward/g1' });
    const d1 = await models.register({ name: 'reward-discord-1', kind: 'reward', path: 'reward/d1', communityId: 'discord:g1' });
    expect(await models.active('reward', 'discord:g1')).toBeNull();
    await models.activate(g1.id);
    // No version of its own: the community is served the global one.
    expect((await models.active('reward', 'discord:g1'))!.id).toBe(g1.id);
    expect((await models.active('reward', null))!.id).toBe(g1.id);
    const activated = await models.activate(d1.id);
    expect(activated.activatedAt).toBeInstanceOf(Date);
    expect((await models.active('reward', 'discord:g1'))!.id).toBe(d1.id);
    // Activating a community's version leaves the global one (and other kinds) active.
    expect((await models.active('reward', null))!.id).toBe(g1.id);
    expect((await models.active('reward', 'slack:T9'))!.id).toBe(g1.id);
    expect((await models.list({ kind: 'reward', communityId: 'discord:g1' })).map((v) => v.name)).toEqual(['reward-discord-1']);
    expect((await models.list({ kind: 'reward', communityId: null })).map((v) => v.name)).toEqual(['reward-global-1']);
    expect((await models.list({ kind: 'reward' })).map((v) => v.name).sort()).toEqual(['reward-discord-1', 'reward-global-1']);
    const d2 = await models.register({ name: 'reward-discord-2', kind: 'reward', path: 'reward/d2', communityId: 'discord:g1' });
    await models.activate(d2.id);
    const scope = await models.list({ kind: 'reward', communityId: 'discord:g1' });
    expect(scope.filter((v) => v.active).map((v) => v.name)).toEqual(['reward-discord-2']);
    expect((await models.active('reward', null))!.id).toBe(g1.id);
  });

  it('rolls back to the version active before, walking back, then to none (base behaviour)', async () => {
    const c = 'slack:T-roll';
    const v1 = await models.register({ name: 'roll-1', kind: 'reward', path: 'r/1', communityId: c });
    const v2 = await models.register({ name: 'roll-2', kind: 'reward', path: 'r/2', communityId: c });
    const v3 = await models.register({ name: 'roll-3', kind: 'reward', path: 'r/3', communityId: c });
    const never = await models.register({ name: 'roll-never', kind: 'reward', path: 'r/n', communityId: c });
    await models.activate(v1.id);
    await models.activate(v2.id);
    await models.activate(v3.id);
    expect((await models.rollback('reward', c))!.id).toBe(v2.id);
    expect((await models.get(v3.id))!.notes).toMatchObject({ rolledBackTo: v2.id });
    expect((await models.rollback('reward', c))!.id).toBe(v1.id);
    expect(await models.rollback('reward', c)).toBeNull();
    expect((await models.list({ kind: 'reward', communityId: c })).some((v) => v.active)).toBe(false);
    // Nothing of its own any more: the community falls back to the global reward model.
    expect((await models.active('reward', c))?.communityId ?? null).toBeNull();
    // An explicit target, then an explicit activation clears the rollback mark.
    expect((await models.rollback('reward', c, v3.id))!.id).toBe(v3.id);
    expect((await models.get(v3.id))!.notes.rolledBackAt).toBeUndefined();
    await expect(models.rollback('reward', 'discord:other', v1.id)).rejects.toMatchObject({ code: CoreErrorCode.InvalidInput });
    expect(never.activatedAt).toBeNull();
  });

  it('registers the base model a server loaded and makes it the active base when none is', async () => {
    const other = await new ModelVersionService(db.dataSource).registerBaseModel('served-model-abc', '/models/abc');
    // vca-tiny-v1 (first test) is the active base already: registered, not activated.
    expect(other).toMatchObject({ kind: 'base', active: false, path: '/models/abc' });
    expect((await models.registerBaseModel('served-model-abc', '/elsewhere')).id).toBe(other.id);
    await db.dataSource.query(`UPDATE model_versions SET active = false WHERE kind = 'base'`);
    expect(await models.registerBaseModel('served-model-abc', '/models/abc')).toMatchObject({ id: other.id, active: true });
  });
});

describe('migration TrainingPipeline', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_mig_train' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('renames completed runs to succeeded, and back on revert', async () => {
    const ds = db.dataSource;
    // The learning loop's audit kinds come and go with their own migration.
    await ds.undoLastMigration({ transaction: 'each' });
    await expect(ds.query(`INSERT INTO moderation_actions (moderator_id, action, target_type) VALUES ('m', 'request_training', 'training_job')`)).rejects.toThrow(/CHK_moderation_actions_action/);
    await ds.undoLastMigration({ transaction: 'each' });
    const id = randomUUID();
    await ds.query(
      `INSERT INTO training_runs (id, status, trigger, scheduled_for, data_summary, data_cutoff) VALUES ($1, 'completed', 'manual', now(), '{}', now())`,
      [id],
    );
    await expect(ds.query(`INSERT INTO model_versions (id, name, kind, path) VALUES ($1, 'r', 'reward', 'p')`, [randomUUID()])).rejects.toThrow(/CHK_model_versions_kind/);
    expect(await runMigrations(ds)).toEqual(['TrainingPipeline1796684719025', 'TrainingModerationActions1796700000000']);
    await ds.query(`INSERT INTO moderation_actions (moderator_id, action, target_type) VALUES ('m', 'request_training', 'training_job')`);
    expect(await ds.query(`SELECT status, attempts, stages FROM training_runs WHERE id = $1`, [id])).toEqual([{ status: 'succeeded', attempts: 0, stages: {} }]);
    await expect(ds.query(`UPDATE training_runs SET status = 'completed' WHERE id = $1`, [id])).rejects.toThrow(/CHK_training_runs_status/);
    await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await ds.query(`SELECT status FROM training_runs WHERE id = $1`, [id])).toEqual([{ status: 'completed' }]);
    await runMigrations(ds);
  });
});
