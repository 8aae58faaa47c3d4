import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ModelVersionService,
  TrainingBusyError,
  TrainingPipelineService,
  TrainingRunService,
  buildPreferencePairs,
  createDataSource,
  createTestDatabase,
  type PipelineProgress,
  type TestDatabase,
  type TrainingPipelineOptions,
  type TrainingStage,
  type TrainingStageContext,
  type TrainingStageOutcome,
} from '@vca/core';
import { TrainingSeeder } from './support/training-seed';

interface Call {
  stage: string;
  runId: string;
  communityId: string | null;
  pairs: number;
  previous: string[];
  workDir: string;
  startedAt: number;
  endedAt?: number;
}

/**
 * A real plug-in of the TrainingStage port: it reads the context like a stage would (pairs from
 * ctx.data), reports progress and decides through `decide`.
 */
class ScriptedStage implements TrainingStage {
  readonly calls: Call[] = [];
  constructor(
    readonly name: string,
    private readonly decide: (ctx: TrainingStageContext, call: Call) => Promise<Partial<TrainingStageOutcome>> | Partial<TrainingStageOutcome>,
  ) {}

  async run(ctx: TrainingStageContext): Promise<TrainingStageOutcome> {
    const call: Call = {
      stage: this.name,
      runId: ctx.runId,
      communityId: ctx.communityId,
      pairs: buildPreferencePairs(ctx.data, ctx.imageDir).length,
      previous: Object.keys(ctx.previous),
      workDir: ctx.workDir,
      startedAt: Date.now(),
    };
    this.calls.push(call);
    await ctx.progress(0.5, `${this.name}: half way`);
    try {
      const d = await this.decide(ctx, call);
      return { decision: 'kept', reason: 'not better', metrics: {}, producedVersionId: null, seconds: 0.01, ...d };
    } finally {
      call.endedAt = Date.now();
    }
  }
}

describe(TrainingPipelineService.name, () => {
  let db: TestDatabase;
  let workDir: string;
  let runs: TrainingRunService;
  let models: ModelVersionService;
  let seeded: Date;
  let options: TrainingPipelineOptions;
  let slot = 0;
  /** Each run its own schedule instant after the seeding, so its cut-off includes all data. */
  const nextRun = (extra: Parameters<TrainingRunService['schedule']>[0] = {}) =>
    runs.schedule({ trigger: 'manual', scheduledFor: new Date(seeded.getTime() + 1000 * ++slot), ...extra });

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: 'core_pipeline', poolSize: 6 });
    workDir = await mkdtemp(join(tmpdir(), 'vca-train-'));
    runs = new TrainingRunService(db.dataSource);
    models = new ModelVersionService(db.dataSource);
    const seed = new TrainingSeeder(db.dataSource);
    // discord:g-big: 4 rounds × 3 pick pairs = 12 pairs; web:local: 1 round = 3 pairs.
    await seed.pickedRounds('discord', 'g-big', 4);
    await seed.pickedRounds('web', 'local', 1);
    seeded = new Date(Date.now() + 10);
    options = { workDir, imageDir: '/images', minTrainingPairs: 6, minCommunityPairs: 9, progressIntervalMs: 0 };
  });
  afterAll(async () => {
    await db?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('trains the global model and each community with enough pairs, recording every outcome', async () => {
    const reward = new ScriptedStage('reward', async (ctx): Promise<Partial<TrainingStageOutcome>> => {
      const version = await models.register({
        name: `reward-${ctx.runId}-${ctx.communityId ?? 'global'}`,
        kind: 'reward',
        path: `reward/${ctx.runId}`,
        communityId: ctx.communityId,
        trainingRunId: ctx.runId,
      });
      if (ctx.communityId !== null) return { decision: 'kept', reason: 'held-out accuracy 0.61 < active 0.64 + margin', metrics: { accuracy: 0.61 }, producedVersionId: version.id };
      await models.activate(version.id);
      return { decision: 'promoted', reason: 'held-out accuracy 0.71 > none', metrics: { accuracy: 0.712345, pairs: 15 }, producedVersionId: version.id };
    });
    const lora = new ScriptedStage('lora', () => ({ decision: 'skipped', reason: 'no LoRA trainer yet' }));
    const pipeline = new TrainingPipelineService(db.dataSource, [reward, lora], options);
    const run = await nextRun();
    const progress: PipelineProgress[] = [];
    const result = await pipeline.execute(run.id, { onProgress: (p) => void progress.push(p) });

    expect(result).toMatchObject({ alreadyEnded: false, resumed: false });
    expect(result.run.status).toBe('succeeded');
    expect([...reward.calls, ...lora.calls].sort((a, b) => a.startedAt - b.startedAt).map((c) => `${c.stage}/${c.communityId ?? 'global'}`)).toEqual([
      'reward/global',
      'lora/global',
      'reward/discord:g-big',
      'lora/discord:g-big',
    ]);
    expect(reward.calls.map((c) => c.pairs)).toEqual([15, 12]);
    expect(lora.calls[0]!.previous).toEqual(['reward']);
    expect(reward.calls[0]!.workDir).toBe(join(workDir, run.id, 'reward', 'global'));
    expect(reward.calls[1]!.workDir).toBe(join(workDir, run.id, 'reward', 'discord_g-big'));
    expect(existsSync(reward.calls[1]!.workDir)).toBe(true);

    const stages = result.run.stages;
    expect(stages['reward']!['global']).toMatchObject({ decision: 'promoted', metrics: { accuracy: 0.712345, pairs: 15 } });
    expect(stages['reward']!['discord:g-big']).toMatchObject({ decision: 'kept', metrics: { accuracy: 0.61 } });
    expect(stages['lora']!['global']).toMatchObject({ decision: 'skipped', reason: 'no LoRA trainer yet' });
    expect(stages['reward']!['web:local']).toBeUndefined();
    expect(result.run.dataSummary).toMatchObject({ pairs: 15, ties: 0, labels: 5, communities: { 'discord:g-big': 12, 'web:local': 3 } });
    expect(result.run.producedModelVersionId).toBe(stages['reward']!['global']!.producedVersionId);
    expect(result.run.attempts).toBe(1);
    expect(result.run.report).toContain('reward/global: promoted — held-out accuracy 0.71 > none [accuracy=0.712 pairs=15]');
    expect(result.run.report).toContain('reward/discord:g-big: kept');
    expect(result.run.report).toContain('lora/discord:g-big: skipped — no LoRA trainer yet');
    expect((await models.active('reward', 'discord:g-big'))!.id).toBe(stages['reward']!['global']!.producedVersionId);
    // Progress covers the whole run, per stage and community, and reaches 1.
    expect(progress.some((p) => p.stage === 'reward' && p.communityId === 'discord:g-big' && p.message.includes('half way'))).toBe(true);
    expect(progress.at(-1)!.fraction).toBe(1);
    expect(progress.every((p, i) => i === 0 || p.fraction >= progress[i - 1]!.fraction)).toBe(true);

    // Executing an ended run again does nothing.
    const again = await pipeline.execute(run.id);
    expect(again.alreadyEnded).toBe(true);
    expect(reward.calls).toHaveLength(2);
  });

  it('resumes a run whose worker died: stages already recorded are not run again', async () => {
    const reward = new ScriptedStage('reward', () => ({ decision: 'promoted', reason: 'better', metrics: { accuracy: 0.8 } }));
    const lora = new ScriptedStage('lora', () => ({ decision: 'kept', reason: 'not better' }));
    const run = await nextRun();
    // The first attempt started the run and recorded reward/global, then its process was killed.
    await runs.start(run.id);
    await runs.recordStage(run.id, { stage: 'reward', communityId: null }, {
      decision: 'promoted',
      reason: 'from the first attempt',
      metrics: { accuracy: 0.9 },
      producedVersionId: null,
      seconds: 3,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
    });
    const result = await new TrainingPipelineService(db.dataSource, [reward, lora], options).execute(run.id);
    expect(result).toMatchObject({ resumed: true, alreadyEnded: false });
    expect(result.run).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(reward.calls.map((c) => c.communityId)).toEqual(['discord:g-big']);
    expect(lora.calls.map((c) => c.communityId)).toEqual([null, 'discord:g-big']);
    // The recorded outcome is handed on as `previous`, and stays as it was.
    expect(lora.calls[0]!.previous).toEqual(['reward']);
    expect(result.run.stages['reward']!['global']).toMatchObject({ reason: 'from the first attempt', metrics: { accuracy: 0.9 } });
  });

  it('a stage that throws fails the run with its reason; earlier promotions stay, nothing else is activated', async () => {
    const community = 'discord:g-big';
    const before = await models.register({ name: 'reward-before-failure', kind: 'reward', path: 'r/b', communityId: community });
    await models.activate(before.id);
    const run = await nextRun();
    const reward = new ScriptedStage('reward', async (ctx) => {
      // Registers what it trained, then fails in evaluation: activation would be its last step.
      await models.register({ name: `half-${ctx.runId}-${ctx.communityId ?? 'g'}`, kind: 'reward', path: 'r/h', communityId: ctx.communityId });
      if (ctx.communityId === community) throw new Error('evaluation ran out of memory');
      return { decision: 'kept', reason: 'not better' };
    });
    const lora = new ScriptedStage('lora', () => ({ decision: 'skipped', reason: 'n/a' }));
    const result = await new TrainingPipelineService(db.dataSource, [reward, lora], options).execute(run.id);
    expect(result.run.status).toBe('failed');
    expect(result.run.error).toBe('stage reward (discord:g-big) failed: evaluation ran out of memory');
    expect(result.run.report).toMatch(/^failed: stage reward \(discord:g-big\) failed: evaluation ran out of memory/);
    expect(result.run.stages['reward']![community]).toMatchObject({ decision: 'failed', error: expect.stringContaining('evaluation ran out of memory') });
    expect(result.run.stages['lora']!['global']).toMatchObject({ decision: 'skipped' });
    // The community's stage after the failure never ran.
    expect(lora.calls.map((c) => c.communityId)).toEqual([null]);
    expect((await models.active('reward', community))!.id).toBe(before.id);
  });

  it('skips the run when there are too few pairs, naming the counts', async () => {
    const stage = new ScriptedStage('reward', () => ({ decision: 'promoted', reason: 'x' }));
    const pipeline = new TrainingPipelineService(db.dataSource, [stage], { ...options, minTrainingPairs: 50 });
    const result = await pipeline.execute((await nextRun()).id);
    expect(result.run.status).toBe('skipped');
    expect(result.run.report).toBe('skipped: 15 preference pairs (0 ties) from 5 labels in 5 dialogues; fewer than MIN_TRAINING_PAIRS = 50.');
    expect(stage.calls).toEqual([]);
    // A cut-off before any label: nothing at all.
    const early = await runs.schedule({ trigger: 'manual', scheduledFor: new Date('2001-01-01T00:00:00Z') });
    expect((await new TrainingPipelineService(db.dataSource, [stage], options).execute(early.id)).run.report).toMatch(/^skipped: 0 preference pairs/);
  });

  it('with no stages configured the run ends skipped and says so', async () => {
    const result = await new TrainingPipelineService(db.dataSource, [], options).execute((await nextRun()).id);
    expect(result.run).toMatchObject({ status: 'skipped' });
    expect(result.run.report).toMatch(/^skipped: no training stages configured/);
  });

  it('a run for one community trains that community only, on its data only', async () => {
    const stage = new ScriptedStage('reward', () => ({ decision: 'kept', reason: 'x' }));
    const run = await nextRun({ communityId: 'web:local' });
    const result = await new TrainingPipelineService(db.dataSource, [stage], { ...options, minTrainingPairs: 3 }).execute(run.id);
    expect(result.run.status).toBe('succeeded');
    expect(stage.calls.map((c) => [c.communityId, c.pairs])).toEqual([['web:local', 3]]);
    expect(Object.keys(result.run.stages['reward']!)).toEqual(['web:local']);
  });

  it('runs one training run at a time across workers (advisory lock)', async () => {
    // A second worker: its own connection pool on the same schema.
    const other = createDataSource(db.url, { schema: db.schema, poolSize: 3 });
    await other.initialize();
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const slow = new ScriptedStage('reward', async (ctx) => {
        if (ctx.communityId === null) {
          entered();
          await gate;
        }
        return { decision: 'kept', reason: 'x' };
      });
      const fast = new ScriptedStage('reward', () => ({ decision: 'kept', reason: 'y' }));
      const first = await nextRun();
      const second = await nextRun();
      const running = new TrainingPipelineService(db.dataSource, [slow], options).execute(first.id);
      await inside;
      const otherWorker = new TrainingPipelineService(other, [fast], options);
      const busy = await otherWorker.execute(second.id).catch((e: unknown) => e);
      expect(busy).toBeInstanceOf(TrainingBusyError);
      expect((busy as TrainingBusyError).heldByRunId).toBe(first.id);
      expect((busy as Error).message).toContain(`another training run (${first.id}) holds the training lock`);
      expect((await runs.getRun(second.id))!.status).toBe('scheduled');
      // A waiting worker starts once the first run released the lock.
      const waiting = otherWorker.execute(second.id, { lockWaitMs: 30_000, lockPollMs: 50 });
      await new Promise((r) => setTimeout(r, 300));
      expect(fast.calls).toHaveLength(0);
      release();
      expect((await running).run.status).toBe('succeeded');
      expect((await waiting).run.status).toBe('succeeded');
      const lastSlowEnd = Math.max(...slow.calls.map((c) => c.endedAt!));
      expect(Math.min(...fast.calls.map((c) => c.startedAt))).toBeGreaterThanOrEqual(lastSlowEnd);
    } finally {
      await other.destroy();
    }
  });

  it('refuses two stages with one name', () => {
    const a = new ScriptedStage('reward', () => ({}));
    expect(() => new TrainingPipelineService(db.dataSource, [a, a], options)).toThrow(/two training stages are named "reward"/);
  });
});
