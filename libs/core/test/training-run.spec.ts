import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelVersionService, TrainingRunService, createTestDatabase, type TestDatabase } from '@vca/core';

describe(TrainingRunService.name, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_train' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('records one run per schedule firing, so a retried job does not add another', async () => {
    const runs = new TrainingRunService(db.dataSource);
    const scheduledFor = new Date('2026-11-26T03:00:00Z');
    const first = await runs.recordScheduledRun({ trigger: 'nightly', scheduledFor });
    const retry = await runs.recordScheduledRun({ trigger: 'nightly', scheduledFor });
    expect(retry.run.id).toBe(first.run.id);
    expect(first.data).toEqual({ labels: 0, pairs: 0, ties: 0, raters: 0, dialogues: 0, rounds: 0 });
    expect(first.run).toMatchObject({ status: 'skipped', trigger: 'nightly' });
    expect(first.run.dataCutoff.toISOString()).toBe(scheduledFor.toISOString());
    const manual = await runs.recordScheduledRun({ trigger: 'manual', scheduledFor });
    expect(manual.run.id).not.toBe(first.run.id);
    expect(await runs.listRuns()).toHaveLength(2);
  });
});

describe(ModelVersionService.name, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_models' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('registers versions idempotently by name and keeps one active per kind', async () => {
    const models = new ModelVersionService(db.dataSource);
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
});
