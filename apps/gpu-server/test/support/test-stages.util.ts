import type { TrainingStage, TrainingStageContext, TrainingStageOutcome } from '@vca/core';

/** A quick stage that promotes nothing real: records that it ran and where. */
export class QuickStage implements TrainingStage {
  readonly calls: Array<{ communityId: string | null; previous: string[] }> = [];
  constructor(
    readonly name: string,
    private readonly decision: TrainingStageOutcome['decision'],
    private readonly reason: string,
  ) {}

  async run(ctx: TrainingStageContext): Promise<TrainingStageOutcome> {
    this.calls.push({ communityId: ctx.communityId, previous: Object.keys(ctx.previous) });
    await ctx.progress(0.5, `${this.name} half way`);
    return { decision: this.decision, reason: this.reason, metrics: { pairs: ctx.data.labels.length }, producedVersionId: null, seconds: 0.01 };
  }
}

/** A stage that reports progress and never finishes: its worker is SIGKILLed mid-stage. */
export class HangingStage implements TrainingStage {
  constructor(readonly name: string) {}

  async run(ctx: TrainingStageContext): Promise<TrainingStageOutcome> {
    await ctx.progress(0.1, `${this.name} epoch 1`);
    process.stdout.write(`stage ${this.name} started for run ${ctx.runId}\n`);
    return new Promise(() => undefined);
  }
}
