import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import {
  GenerationJobSchema,
  GenerationResultSchema,
  type GenerationJob,
  type GenerationResult,
} from '@vca/shared';
import { DialogueEntity } from '../entities/dialogue.entity';
import { ImageEntity } from '../entities/image.entity';
import { RaterEntity } from '../entities/rater.entity';
import { RoundEntity, type RefinementRecord } from '../entities/round.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { parseInput } from '../errors/parse-input.util';
import { ACTIVE_LABEL_SQL } from '../feedback/active-labels.sql';
import { pseudonymousId } from '../feedback/pseudonymous-id.util';
import { PROMPT_REFINER, type PromptRefiner, type RefinedPrompt } from '../refiner/prompt-refiner.port';
import { planCandidates } from './candidate-plan.util';
import {
  CONVERSATION_OPTIONS,
  ConversationOptionsSchema,
  IncomingMessageSchema,
  type ConversationOptions,
  type IncomingMessage,
  type RoundStarted,
  type RoundView,
} from './conversation.types';
import { DialogueQueryService } from './dialogue-query.service';
import { GENERATION_QUEUE, generationJobId, type GenerationQueuePort } from './generation-queue.port';

const MAX_PROMPT_CHARS = 2000;

/**
 * Write side of a dialogue: the first message in a thread is the prompt, each later message is
 * feedback that the `PromptRefiner` folds into the next prompt. Round 1 is text-to-image; round
 * t > 1 is img2img from the image kept in the latest completed round (the pick, else the
 * best-rated, else candidate 0).
 */
@Injectable()
export class ConversationService {
  private readonly options: ReturnType<typeof ConversationOptionsSchema.parse>;
  private readonly queries: DialogueQueryService;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(GENERATION_QUEUE) private readonly queue: GenerationQueuePort,
    @Inject(PROMPT_REFINER) private readonly refiner: PromptRefiner,
    @Optional() @Inject(CONVERSATION_OPTIONS) options: ConversationOptions = {},
  ) {
    this.options = ConversationOptionsSchema.parse(options ?? {});
    if (this.options.strengthMin > this.options.strengthMax) {
      throw new Error('ConversationOptions: strengthMin must not exceed strengthMax');
    }
    this.queries = new DialogueQueryService(dataSource);
  }

  /**
   * A message in a thread: starts the dialogue (first message) or continues it (feedback). The
   * round is stored before it is enqueued; if the queue is down the round stays `queued`, a
   * `QUEUE_UNAVAILABLE` error is thrown, and `resumeQueuedRounds()` enqueues it later.
   */
  async handleMessage(input: IncomingMessage): Promise<RoundStarted> {
    const msg = parseInput(IncomingMessageSchema, input);
    const requesterId = pseudonymousId(msg.platform, msg.userId, this.options.raterIdSalt);
    const text = msg.text.replace(/\s+/g, ' ').trim();

    const state = await this.dataSource.transaction((em) => this.loadThreadState(em, msg, requesterId));
    const plan = await this.planNextRound(state.dialogue.id, state.lastRound, text);

    const round = await this.dataSource.transaction(async (em) => {
      // Serialise messages of one thread: lock the dialogue and check nobody added a round meanwhile.
      await em.query('SELECT id FROM dialogues WHERE id = $1 FOR UPDATE', [state.dialogue.id]);
      const latest = await em.getRepository(RoundEntity).findOne({
        where: { dialogueId: state.dialogue.id },
        order: { index: 'DESC' },
      });
      if ((latest?.id ?? null) !== (state.lastRound?.id ?? null)) throw roundInProgress(state.dialogue.id);
      const roundId = randomUUID();
      const img2img = plan.parentImageId !== null;
      return em.getRepository(RoundEntity).save(
        em.getRepository(RoundEntity).create({
          id: roundId,
          dialogueId: state.dialogue.id,
          index: (latest?.index ?? 0) + 1,
          requesterId,
          userText: text,
          refinedPrompt: plan.prompt,
          negativePrompt: plan.negativePrompt,
          refinement: plan.refinement,
          mode: img2img ? 'img2img' : 'txt2img',
          parentImageId: plan.parentImageId,
          keptImageId: null,
          status: 'queued',
          failureReason: null,
          candidates: planCandidates(
            roundId,
            this.options.candidates,
            img2img,
            this.options.strengthMin,
            this.options.strengthMax,
          ),
          steps: this.options.steps,
          guidanceScale: this.options.guidanceScale,
          scheduler: this.options.scheduler,
          loras: [],
          postedAt: null,
          postedMessageId: null,
          completedAt: null,
        }),
      );
    });

    const jobId = await this.enqueue(round);
    return { dialogueId: state.dialogue.id, started: state.created, round: await this.queries.getRound(round.id), jobId };
  }

  /** The job payload for a stored round (used to enqueue and to re-enqueue after a restart). */
  async buildJob(roundId: string): Promise<GenerationJob> {
    const round = await this.dataSource.getRepository(RoundEntity).findOneBy({ id: roundId });
    if (!round) throw new CoreError(CoreErrorCode.RoundNotFound, 'This round does not exist.', { roundId });
    return this.jobFor(round);
  }

  /**
   * Store a worker's result: image rows are inserted idempotently (a redelivered result adds
   * nothing) and the round is marked completed. Returns null when the round no longer exists
   * (its dialogue was deleted while the job ran) — an expected no-op.
   */
  async recordGenerationResult(result: GenerationResult): Promise<RoundView | null> {
    const r = parseInput(GenerationResultSchema, result);
    const found = await this.dataSource.transaction(async (em) => {
      const rows: Array<{ id: string }> = await em.query('SELECT id FROM rounds WHERE id = $1 FOR UPDATE', [r.roundId]);
      if (rows.length === 0) return false;
      for (const image of r.images) {
        await em.query(
          `INSERT INTO images (id, round_id, candidate_index, seed, steps, strength, guidance_scale, model_version,
                               lora_versions, content_hash, storage_key, width, height)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13)
           ON CONFLICT (round_id, candidate_index) DO NOTHING`,
          [
            randomUUID(),
            r.roundId,
            image.candidateIndex,
            image.seed,
            r.steps,
            image.strength,
            r.guidanceScale,
            r.modelVersion,
            JSON.stringify(r.loraVersions),
            image.contentHash,
            image.storageKey,
            image.width,
            image.height,
          ],
        );
      }
      await em.query(
        `UPDATE rounds SET status = 'completed', failure_reason = NULL, completed_at = coalesce(completed_at, now())
          WHERE id = $1`,
        [r.roundId],
      );
      return true;
    });
    return found ? this.queries.getRound(r.roundId) : null;
  }

  /** A worker started the job. Only a queued round moves to running. */
  async markRoundRunning(roundId: string): Promise<void> {
    await this.dataSource.query(`UPDATE rounds SET status = 'running' WHERE id = $1 AND status = 'queued'`, [roundId]);
  }

  /** The job failed for good. A completed round stays completed (a late failure report loses). */
  async markRoundFailed(roundId: string, reason: string): Promise<RoundView | null> {
    await this.dataSource.query(
      `UPDATE rounds SET status = 'failed', failure_reason = $2 WHERE id = $1 AND status <> 'completed'`,
      [roundId, reason.slice(0, 2000)],
    );
    const exists = await this.dataSource.getRepository(RoundEntity).existsBy({ id: roundId });
    return exists ? this.queries.getRound(roundId) : null;
  }

  /**
   * Record that the adapter posted the round's result. Returns false if it was already marked,
   * so an adapter that restarts does not post twice.
   */
  async markRoundPosted(roundId: string, postedMessageId?: string): Promise<boolean> {
    const res = await this.dataSource
      .createQueryBuilder()
      .update(RoundEntity)
      .set({ postedAt: () => 'now()', postedMessageId: postedMessageId ?? null })
      .where('id = :roundId AND posted_at IS NULL', { roundId })
      .execute();
    return (res.affected ?? 0) > 0;
  }

  /**
   * Enqueue every round still queued or running (after a restart or a queue outage). Safe to call
   * any time: job ids are derived from round ids, so a job that still exists is not duplicated.
   */
  async resumeQueuedRounds(): Promise<string[]> {
    const rounds = await this.dataSource
      .getRepository(RoundEntity)
      .createQueryBuilder('round')
      .where(`round.status IN ('queued', 'running')`)
      .orderBy('round.created_at', 'ASC')
      .getMany();
    const jobIds: string[] = [];
    for (const round of rounds) jobIds.push(await this.enqueue(round));
    return jobIds;
  }

  private async loadThreadState(em: EntityManager, msg: ReturnType<typeof IncomingMessageSchema.parse>, requesterId: string) {
    await em.query(`INSERT INTO raters (id, platform) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [requesterId, msg.platform]);
    const rater = await em.getRepository(RaterEntity).findOneByOrFail({ id: requesterId });
    if (rater.banned) {
      throw new CoreError(CoreErrorCode.RaterBanned, 'You are not allowed to use this bot here.', { raterId: requesterId });
    }
    const inserted: Array<{ id: string }> = await em.query(
      `INSERT INTO dialogues (id, platform, workspace_id, channel_id, thread_id, owner_id)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (platform, thread_id) DO NOTHING RETURNING id`,
      [randomUUID(), msg.platform, msg.workspaceId, msg.channelId, msg.threadId, requesterId],
    );
    const dialogue = await em
      .getRepository(DialogueEntity)
      .findOneByOrFail({ platform: msg.platform, threadId: msg.threadId });
    const lastRound = await em
      .getRepository(RoundEntity)
      .findOne({ where: { dialogueId: dialogue.id }, order: { index: 'DESC' } });
    if (lastRound && (lastRound.status === 'queued' || lastRound.status === 'running')) throw roundInProgress(dialogue.id);
    return { dialogue, lastRound, created: inserted.length > 0 };
  }

  private async planNextRound(
    dialogueId: string,
    lastRound: RoundEntity | null,
    text: string,
  ): Promise<{ prompt: string; negativePrompt: string; refinement: RefinementRecord; parentImageId: string | null }> {
    if (!lastRound) {
      return { prompt: text.slice(0, MAX_PROMPT_CHARS), negativePrompt: '', refinement: { source: 'initial', edits: [] }, parentImageId: null };
    }
    const history = await this.dataSource.getRepository(RoundEntity).find({
      where: { dialogueId },
      order: { index: 'ASC' },
      select: { userText: true, refinedPrompt: true, index: true },
    });
    const refined: RefinedPrompt = await this.refiner.refine({
      previousPrompt: lastRound.refinedPrompt,
      previousNegativePrompt: lastRound.negativePrompt,
      feedback: text,
      context: {
        history: history.map((h) => ({ userText: h.userText, refinedPrompt: h.refinedPrompt })),
        previousEdits: lastRound.refinement.edits as RefinedPrompt['edits'],
      },
    });
    const prompt = refined.prompt.trim() || lastRound.refinedPrompt;
    return {
      prompt: prompt.slice(0, MAX_PROMPT_CHARS),
      negativePrompt: refined.negativePrompt.slice(0, MAX_PROMPT_CHARS),
      refinement: { source: refined.source, edits: refined.edits, ...(refined.fallbackReason ? { fallbackReason: refined.fallbackReason } : {}) },
      parentImageId: await this.keptImageOfLatestCompletedRound(dialogueId),
    };
  }

  /** The pick; else the best-rated (most ups minus downs, lower index wins ties); else candidate 0. */
  private async keptImageOfLatestCompletedRound(dialogueId: string): Promise<string | null> {
    const round = await this.dataSource.getRepository(RoundEntity).findOne({
      where: { dialogueId, status: 'completed' },
      order: { index: 'DESC' },
    });
    if (!round) return null;
    // The latest active pick, re-read rather than trusting rounds.kept_image_id: a moderator may
    // have banned the picker or rejected the label since.
    const picks: Array<{ image_id: string }> = await this.dataSource.query(
      `SELECT fe.image_id FROM feedback_events fe JOIN raters r ON r.id = fe.rater_id
        WHERE fe.round_id = $1 AND fe.signal = 'pick' AND ${ACTIVE_LABEL_SQL}
        ORDER BY fe.created_at DESC, fe.id DESC LIMIT 1`,
      [round.id],
    );
    if (picks[0]) return picks[0].image_id;
    const rows: Array<{ id: string; score: string; rated: string }> = await this.dataSource.query(
      `SELECT i.id,
              count(DISTINCT fe.rater_id) FILTER (WHERE fe.signal = 'up' AND ${ACTIVE_LABEL_SQL})
                - count(DISTINCT fe.rater_id) FILTER (WHERE fe.signal = 'down' AND ${ACTIVE_LABEL_SQL}) AS score,
              count(fe.id) FILTER (WHERE fe.signal IN ('up', 'down') AND ${ACTIVE_LABEL_SQL}) AS rated
         FROM images i
         LEFT JOIN feedback_events fe ON fe.image_id = i.id
         LEFT JOIN raters r ON r.id = fe.rater_id
        WHERE i.round_id = $1
        GROUP BY i.id, i.candidate_index
        ORDER BY score DESC, i.candidate_index ASC`,
      [round.id],
    );
    if (rows.length === 0) return null;
    const anyRated = rows.some((r) => Number(r.rated) > 0);
    if (anyRated) return rows[0]!.id;
    const first = await this.dataSource
      .getRepository(ImageEntity)
      .findOne({ where: { roundId: round.id }, order: { candidateIndex: 'ASC' } });
    return first?.id ?? null;
  }

  private async jobFor(round: RoundEntity): Promise<GenerationJob> {
    const parent = round.parentImageId
      ? await this.dataSource.getRepository(ImageEntity).findOneBy({ id: round.parentImageId })
      : null;
    return GenerationJobSchema.parse({
      roundId: round.id,
      dialogueId: round.dialogueId,
      requesterId: round.requesterId,
      prompt: round.refinedPrompt,
      negativePrompt: round.negativePrompt,
      candidates: round.candidates,
      initImageKey: parent?.storageKey ?? null,
      steps: round.steps,
      guidanceScale: round.guidanceScale,
      scheduler: round.scheduler,
      loras: round.loras,
    });
  }

  private async enqueue(round: RoundEntity): Promise<string> {
    const job = await this.jobFor(round);
    try {
      const { jobId } = await this.queue.enqueue(job);
      return jobId;
    } catch (error) {
      throw new CoreError(CoreErrorCode.QueueUnavailable, 'The image queue is unavailable; your request is saved and will run later.', {
        roundId: round.id,
        jobId: generationJobId(round.id),
        cause: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

function roundInProgress(dialogueId: string): CoreError {
  return new CoreError(CoreErrorCode.RoundInProgress, 'Please wait: the current round is still being generated.', { dialogueId });
}
