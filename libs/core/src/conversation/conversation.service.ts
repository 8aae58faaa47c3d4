import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  GenerationJobSchema,
  GenerationResultSchema,
  IMAGE_KEY_PATTERN,
  type GenerationJob,
  type GenerationResult,
} from '@vca/shared';
import { communityIdOf } from '../curation/community.util';
import { DialogueEntity } from '../entities/dialogue.entity';
import { ImageEntity } from '../entities/image.entity';
import { ModerationService } from '../moderation/moderation.service';
import type { DeletionResult } from '../moderation/moderation.types';
import { RoundEntity, type RefinementRecord } from '../entities/round.entity';
import { CoreError, CoreErrorCode } from '../errors/core.error';
import { parseInput } from '../errors/parse-input.util';
import { isUuid } from '../errors/uuid.util';
import { ACTIVE_LABEL_SQL } from '../feedback/active-labels.sql';
import { pseudonymousId } from '../feedback/pseudonymous-id.util';
import { PROMPT_REFINER, type PromptRefiner, type RefinedPrompt } from '../refiner/prompt-refiner.port';
import { PromptPolicy, promptBlocked } from '../safety/prompt-policy.service';
import type { MessageAuthor, PolicyScope } from '../safety/prompt-policy.types';
import { planCandidates, seedFor } from './candidate-plan.util';
import {
  CONVERSATION_OPTIONS,
  ConversationOptionsSchema,
  DialogueMessageSchema,
  IncomingMessageSchema,
  RerollRequestSchema,
  VaryRequestSchema,
  type ConversationOptions,
  type DialogueMessage,
  type IncomingMessage,
  type RerollRequest,
  type RoundRequested,
  type RoundStarted,
  type RoundView,
  type VaryRequest,
} from './conversation.types';
import { DialogueQueryService } from './dialogue-query.service';
import { QUOTA_USAGE_SQL, quotaExceeded, quotaFreesAtSql, type QuotaUsage } from './daily-quota';
import { chooseKeptImage, type CandidateStanding } from './kept-image.util';
import { toRoundView } from './round-view.mapper';
import { PG_FOREIGN_KEY_VIOLATION, PG_UNIQUE_VIOLATION, pgErrorCode } from '../database/pg-error.util';
import { GENERATION_QUEUE, generationJobId, type GenerationQueuePort } from './generation-queue.port';

const MAX_PROMPT_CHARS = 2000;

/**
 * The start of a statement that records rater $1 (platform $2) on first sight and reads whether
 * they are banned, as CTE `rater` (null when a concurrent first insert is not visible yet).
 */
const ADMIT_RATER_SQL = `WITH new_rater AS (
    INSERT INTO raters (id, platform) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING banned),
  rater AS (
    SELECT coalesce((SELECT banned FROM new_rater), (SELECT banned FROM raters WHERE id = $1)) AS banned)`;

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
  private readonly policy: PromptPolicy;

  /** `policy`: the prompt block list (default: no global terms, each workspace's own terms). */
  constructor(
    private readonly dataSource: DataSource,
    @Inject(GENERATION_QUEUE) private readonly queue: GenerationQueuePort,
    @Inject(PROMPT_REFINER) private readonly refiner: PromptRefiner,
    @Optional() @Inject(CONVERSATION_OPTIONS) options: ConversationOptions = {},
    @Optional() policy?: PromptPolicy,
  ) {
    this.policy = policy ?? new PromptPolicy(dataSource);
    this.options = ConversationOptionsSchema.parse(options ?? {});
    if (this.options.strengthMin > this.options.strengthMax) {
      throw new Error('ConversationOptions: strengthMin must not exceed strengthMax');
    }
    if (this.options.varyStrengthMin > this.options.varyStrengthMax) {
      throw new Error('ConversationOptions: varyStrengthMin must not exceed varyStrengthMax');
    }
    this.queries = new DialogueQueryService(dataSource);
  }

  /**
   * A message in a thread: starts the dialogue (first message) or continues it (feedback). The
   * round is stored before it is enqueued; if the queue is down the round stays `queued`, a
   * `QUEUE_UNAVAILABLE` error is thrown, and `resumeQueuedRounds()` enqueues it later.
   * A message containing a blocked term (`PROMPT_BLOCKED`) is refused before anything is
   * stored, unless `author` says a moderator wrote it; so is one over the daily round quota
   * (`QUOTA_EXCEEDED`, counted in the admitting statement, moderators exempt).
   */
  async handleMessage(input: IncomingMessage, author: MessageAuthor = {}): Promise<RoundStarted> {
    const msg = parseInput(IncomingMessageSchema, input);
    const isModerator = moderatorCheck(author);
    const scope: PolicyScope = { platform: msg.platform, workspaceId: msg.workspaceId };
    await this.refuseBlocked(scope, msg.text, 'message', isModerator);
    const requesterId = pseudonymousId(msg.platform, msg.userId, this.options.raterIdSalt);
    const thread = { workspaceId: msg.workspaceId, channelId: msg.channelId, threadId: msg.threadId };
    const dialogue = await this.admitAndOpenDialogue(msg, requesterId, author, isModerator);
    return this.startMessageRound(dialogue, thread, requesterId, msg.text, { scope, isModerator });
  }

  /**
   * The block-list check of `handleMessage` alone (`PROMPT_BLOCKED`), for an adapter that must
   * decide before it echoes a prompt (a thread named after it, an intro message quoting it).
   * No I/O while the workspace's terms are cached. Given the user's platform id and with a daily
   * quota set, a used-up quota is refused here too (`QUOTA_EXCEEDED`; one query), so no empty
   * thread is opened for a round that cannot run.
   */
  async screenMessage(scope: PolicyScope, text: string, author: MessageAuthor = {}, userId?: string): Promise<void> {
    const isModerator = moderatorCheck(author);
    await this.refuseBlocked(scope, text, 'message', isModerator);
    // With a quota set and the author named: a used-up quota is refused before anything is posted.
    if (userId === undefined || this.quotaOffset(author) === null) return;
    const usage = await this.quotaUsage({ platform: scope.platform, userId });
    if (usage.remaining === 0 && usage.resetsAt && !(await isModerator())) throw quotaExceeded(this.options.dailyRoundQuota, usage.resetsAt);
  }

  /**
   * A later message in a dialogue known by its id (the web chat): like `handleMessage`, but it
   * never opens a dialogue; `DIALOGUE_NOT_FOUND` when none of this platform has that id.
   */
  async continueDialogue(input: DialogueMessage, author: MessageAuthor = {}): Promise<RoundStarted> {
    const msg = parseInput(DialogueMessageSchema, input);
    const isModerator = moderatorCheck(author);
    // The workspace is known once the dialogue is read: global terms now, the workspace's after.
    const globalHit = this.policy.globalBlockedTermIn([msg.text]);
    if (globalHit && !(await isModerator())) throw promptBlocked(globalHit, 'message');
    const requesterId = pseudonymousId(msg.platform, msg.userId, this.options.raterIdSalt);
    const quota = this.quotaOffset(author);
    const [row] = (await this.dataSource.query(
      `${ADMIT_RATER_SQL}
       SELECT r.banned, d.id, d.workspace_id, d.channel_id, d.thread_id${quota === null ? '' : `, (${quotaFreesAtSql('$4')}) AS quota_frees_at`}
         FROM rater r LEFT JOIN dialogues d ON d.id = $3::uuid AND d.platform = $2`,
      [requesterId, msg.platform, msg.dialogueId, ...(quota === null ? [] : [quota])],
    )) as Array<{ banned: boolean | null; id: string | null; workspace_id: string; channel_id: string; thread_id: string; quota_frees_at?: Date | null }>;
    await this.refuseBanned(requesterId, row?.banned ?? null);
    await this.refuseOverQuota(row?.quota_frees_at ?? null, isModerator);
    if (!row?.id) throw new CoreError(CoreErrorCode.DialogueNotFound, 'This thread does not exist.', { dialogueId: msg.dialogueId });
    const thread = { workspaceId: row.workspace_id, channelId: row.channel_id, threadId: row.thread_id };
    const scope: PolicyScope = { platform: msg.platform, workspaceId: row.workspace_id };
    await this.refuseBlocked(scope, msg.text, 'message', isModerator);
    return this.startMessageRound({ id: row.id, created: false }, thread, requesterId, msg.text, { scope, isModerator });
  }

  /**
   * The round of a message once its dialogue is open. Few round trips on purpose: this is the
   * bot's event → enqueue path (a new thread: the insert and the enqueue after the opening
   * statement; feedback: one more, two reads side by side). No lock is needed: the unique
   * (dialogue_id, index) index makes the losing one of two racing messages fail.
   */
  private async startMessageRound(
    dialogue: { id: string; created: boolean },
    thread: RoundStarted['thread'],
    requesterId: string,
    rawText: string,
    author: { scope: PolicyScope; isModerator: () => Promise<boolean> },
  ): Promise<RoundStarted> {
    const text = rawText.replace(/\s+/g, ' ').trim();
    const [rounds, standings] = dialogue.created
      ? [[], []]
      : await Promise.all([
          this.dataSource.getRepository(RoundEntity).find({ where: { dialogueId: dialogue.id }, order: { index: 'ASC' } }),
          this.lastCompletedStandings(dialogue.id),
        ]);
    const last = rounds[rounds.length - 1] ?? null;
    await this.assertNoRoundInFlight(dialogue.id, last);

    const plan = await this.planNextRound(rounds, standings, text);
    // The refiner (a language model, say) may write a blocked term the message did not contain.
    if (plan.refinement.source !== 'initial') {
      await this.refuseBlocked(author.scope, plan.prompt, 'prompt', author.isModerator);
    }
    const roundId = randomUUID();
    const img2img = plan.parent !== null;
    const round: RoundEntity = Object.assign(new RoundEntity(), {
      id: roundId,
      dialogueId: dialogue.id,
      index: (last?.index ?? 0) + 1,
      requesterId,
      userText: text,
      refinedPrompt: plan.prompt,
      negativePrompt: plan.negativePrompt,
      refinement: plan.refinement,
      mode: img2img ? 'img2img' : 'txt2img',
      parentImageId: plan.parent?.imageId ?? null,
      keptImageId: null,
      status: 'queued',
      failureReason: null,
      candidates: planCandidates(roundId, this.options.candidates, img2img, this.options.strengthMin, this.options.strengthMax),
      steps: this.options.steps,
      guidanceScale: this.options.guidanceScale,
      scheduler: this.options.scheduler,
      loras: this.options.loras,
      origin: 'message',
      sourceRoundId: null,
      requestKey: null,
      postedAt: null,
      postedMessageId: null,
      completedAt: null,
    } satisfies Omit<RoundEntity, 'createdAt'>);
    const inserted = await this.insertRound(round);
    if ('duplicate' in inserted) throw roundInProgress(dialogue.id); // messages carry no request key
    round.createdAt = inserted.createdAt;

    const jobId = await this.enqueue(round, plan.parent?.storageKey ?? null, communityIdOf(author.scope.platform, author.scope.workspaceId));
    return { dialogueId: dialogue.id, thread, started: dialogue.created, round: toRoundView(round, []), jobId };
  }

  /**
   * Reroll button: a new round with the same refined prompt, negative prompt and parent image
   * (img2img source) as `roundId`, the same strengths, and fresh seeds (seeds derive from the new
   * round's id). Same rules as a message: one round in flight per thread, banned raters refused,
   * enqueued through the port. A redelivered click (same `requestId`) returns the first round.
   */
  async reroll(input: RerollRequest, author: MessageAuthor = {}): Promise<RoundRequested> {
    const req = parseInput(RerollRequestSchema, input);
    const source = isUuid(req.roundId) ? await this.dataSource.getRepository(RoundEntity).findOneBy({ id: req.roundId }) : null;
    const dialogue = source ? await this.dialogueOn(source.dialogueId, req.platform) : null;
    if (!source || !dialogue) throw new CoreError(CoreErrorCode.RoundNotFound, 'This round does not exist.', { roundId: req.roundId });
    // The parent may have been deleted by a moderator since (FK SET NULL): then it is txt2img again.
    const img2img = source.parentImageId !== null;
    return this.startButtonRound(req, author, `reroll:${req.requestId}`, dialogue, (roundId) => ({
      origin: 'reroll',
      sourceRoundId: source.id,
      userText: '(reroll)',
      refinedPrompt: source.refinedPrompt,
      negativePrompt: source.negativePrompt,
      refinement: { source: source.refinement.source, edits: [] },
      mode: img2img ? 'img2img' : 'txt2img',
      parentImageId: source.parentImageId,
      candidates: source.candidates.map((c, i) => ({
        seed: seedFor(roundId, i),
        strength: img2img ? c.strength : 1,
      })),
    }));
  }

  /**
   * Vary button: a new round img2img from the chosen candidate with its round's prompt, at the
   * lower `varyStrengthMin/Max` strengths, so the candidates stay close to the chosen image.
   */
  async vary(input: VaryRequest, author: MessageAuthor = {}): Promise<RoundRequested> {
    const req = parseInput(VaryRequestSchema, input);
    const image = isUuid(req.imageId)
      ? await this.dataSource.getRepository(ImageEntity).findOne({ where: { id: req.imageId }, select: { id: true, roundId: true, candidateIndex: true } })
      : null;
    const source = image ? await this.dataSource.getRepository(RoundEntity).findOneBy({ id: image.roundId }) : null;
    const dialogue = source ? await this.dialogueOn(source.dialogueId, req.platform) : null;
    if (!image || !source || !dialogue) throw new CoreError(CoreErrorCode.ImageNotFound, 'This image does not exist.', { imageId: req.imageId });
    return this.startButtonRound(req, author, `vary:${req.requestId}`, dialogue, (roundId) => ({
      origin: 'vary',
      sourceRoundId: source.id,
      userText: `(vary #${image.candidateIndex + 1})`,
      refinedPrompt: source.refinedPrompt,
      negativePrompt: source.negativePrompt,
      refinement: { source: source.refinement.source, edits: [] },
      mode: 'img2img',
      parentImageId: image.id,
      candidates: planCandidates(roundId, this.options.candidates, true, this.options.varyStrengthMin, this.options.varyStrengthMax),
    }));
  }

  /** The job payload for a stored round (used to enqueue and to re-enqueue after a restart). */
  async buildJob(roundId: string): Promise<GenerationJob> {
    const round = isUuid(roundId) ? await this.dataSource.getRepository(RoundEntity).findOneBy({ id: roundId }) : null;
    if (!round) throw new CoreError(CoreErrorCode.RoundNotFound, 'This round does not exist.', { roundId });
    return this.jobFor(round, await this.parentKeyOf(round), await this.communityOfRound(round));
  }

  /**
   * Store a worker's result: image rows are inserted idempotently (a redelivered result adds
   * nothing) and the round is marked completed. Returns null when the round no longer exists
   * (its dialogue was deleted while the job ran) — an expected no-op.
   */
  async recordGenerationResult(result: GenerationResult): Promise<RoundView | null> {
    const r = parseInput(GenerationResultSchema, result);
    // Exports turn keys into paths: only content addresses (`<sha256>.png`) may be stored.
    const badKey = r.images.find((i) => !IMAGE_KEY_PATTERN.test(i.storageKey));
    if (badKey) {
      throw new CoreError(CoreErrorCode.InvalidInput, `Invalid input at images.storageKey: ${JSON.stringify(badKey.storageKey)} is not <sha256>.png`);
    }
    const columns = 16;
    const values = r.images.map((_, i) => `(${Array.from({ length: columns }, (_, c) => `$${2 + i * columns + c}${c === 13 ? '::jsonb' : ''}`).join(', ')})`);
    const params: unknown[] = [r.roundId];
    for (const image of r.images) {
      params.push(
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
        JSON.stringify(image.scores ?? {}),
        // The reward version only on scored images; null = the cosine baseline (or unscored).
        image.scores ? (r.rewardVersionId ?? null) : null,
        r.modelVersionId ?? null,
      );
    }
    try {
      // One statement, so the images and the status change land together.
      await this.dataSource.query(
        `WITH stored AS (
           INSERT INTO images (id, round_id, candidate_index, seed, steps, strength, guidance_scale, model_version,
                               lora_versions, content_hash, storage_key, width, height, scores, reward_version_id, model_version_id)
           VALUES ${values.join(', ')}
           ON CONFLICT (round_id, candidate_index) DO NOTHING RETURNING id)
         UPDATE rounds SET status = 'completed', failure_reason = NULL, completed_at = coalesce(completed_at, now())
          WHERE id = $1`,
        params,
      );
    } catch (error) {
      // images.round_id → rounds.id: the round (its dialogue) was deleted while the job ran.
      if (pgErrorCode(error) === PG_FOREIGN_KEY_VIOLATION) return null;
      throw error;
    }
    return this.queries.getRound(r.roundId).catch((error: unknown) => {
      if (error instanceof CoreError && error.code === CoreErrorCode.RoundNotFound) return null;
      throw error;
    });
  }

  /** A worker started the job. Only a queued round moves to running. */
  async markRoundRunning(roundId: string): Promise<void> {
    if (!isUuid(roundId)) return;
    await this.dataSource.query(`UPDATE rounds SET status = 'running' WHERE id = $1 AND status = 'queued'`, [roundId]);
  }

  /** The job failed for good. A completed round stays completed (a late failure report loses). */
  async markRoundFailed(roundId: string, reason: string): Promise<RoundView | null> {
    if (!isUuid(roundId)) return null;
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
  async markRoundPosted(roundId: string, postedMessageId?: string, opts: { onlyIfCompleted?: boolean } = {}): Promise<boolean> {
    if (!isUuid(roundId)) return false;
    const res = await this.dataSource
      .createQueryBuilder()
      .update(RoundEntity)
      .set({ postedAt: () => 'now()', postedMessageId: postedMessageId ?? null })
      .where(`id = :roundId AND posted_at IS NULL${opts.onlyIfCompleted ? " AND status = 'completed'" : ''}`, { roundId })
      .execute();
    return (res.affected ?? 0) > 0;
  }

  /**
   * The owner of a dialogue deletes it (moderators use `ModerationService.deleteDialogue`); anyone
   * else gets `FORBIDDEN`. Audited like a moderator's deletion, with `owner:<rater id>` as the
   * actor. Returns the storage keys no row uses any more, for the caller to delete from storage.
   */
  async deleteDialogueAsOwner(
    user: { platform: IncomingMessage['platform']; userId: string },
    dialogueId: string,
  ): Promise<DeletionResult> {
    const raterId = pseudonymousId(user.platform, user.userId, this.options.raterIdSalt);
    const dialogue = isUuid(dialogueId) ? await this.dataSource.getRepository(DialogueEntity).findOneBy({ id: dialogueId }) : null;
    if (!dialogue) throw new CoreError(CoreErrorCode.DialogueNotFound, 'This dialogue does not exist.', { dialogueId });
    if (dialogue.ownerId !== raterId || dialogue.platform !== user.platform) {
      throw new CoreError(CoreErrorCode.Forbidden, 'Only the person who started this dialogue (or a moderator) can delete it.', {
        dialogueId,
      });
    }
    return new ModerationService(this.dataSource).deleteDialogue(`owner:${raterId}`, dialogueId, 'deleted by its owner');
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
    for (const round of rounds) jobIds.push(await this.enqueue(round, await this.parentKeyOf(round), await this.communityOfRound(round)));
    return jobIds;
  }

  /**
   * The shared path of button rounds. Idempotency: the request key is unique per dialogue, so a
   * redelivery is answered from the stored round — looked up before the in-flight check (the
   * first delivery's round is usually still running) and again if two deliveries race the insert.
   */
  private async startButtonRound(
    req: { platform: IncomingMessage['platform']; userId: string },
    author: MessageAuthor,
    requestKey: string,
    dialogue: DialogueEntity,
    plan: (roundId: string) => Pick<
      RoundEntity,
      'origin' | 'sourceRoundId' | 'userText' | 'refinedPrompt' | 'negativePrompt' | 'refinement' | 'mode' | 'parentImageId' | 'candidates'
    >,
  ): Promise<RoundRequested> {
    const dialogueId = dialogue.id;
    const requesterId = pseudonymousId(req.platform, req.userId, this.options.raterIdSalt);
    const isModerator = moderatorCheck(author);
    const { quotaFreesAt } = await this.admitRequester(requesterId, req.platform, this.quotaOffset(author));
    const earlier = await this.roundByRequestKey(dialogueId, requestKey);
    if (earlier) {
      // The first delivery may have met a queue outage (QUEUE_UNAVAILABLE, round stored): enqueue
      // again. Idempotent: the job id derives from the round id.
      if (earlier.round.status === 'queued') {
        await this.enqueue(
          await this.roundEntity(earlier.round.id),
          await this.parentKeyOfId(earlier.round.parentImageId),
          communityIdOf(dialogue.platform, dialogue.workspaceId),
        );
      }
      return earlier;
    }
    // After the redelivery check: the click that used the last round still gets its answer.
    await this.refuseOverQuota(quotaFreesAt, isModerator);

    const last = await this.dataSource.getRepository(RoundEntity).findOne({ where: { dialogueId }, order: { index: 'DESC' } });
    try {
      await this.assertNoRoundInFlight(dialogueId, last);
    } catch (error) {
      // A concurrent delivery of this click may be the round in flight: answer with it.
      const winner = last?.requestKey === requestKey ? await this.roundByRequestKey(dialogueId, requestKey) : null;
      if (winner) return winner;
      throw error;
    }
    const roundId = randomUUID();
    const planned = plan(roundId);
    // A term blocked since the source round was made stops its rerolls and variations too.
    await this.refuseBlocked({ platform: dialogue.platform, workspaceId: dialogue.workspaceId }, planned.refinedPrompt, 'prompt', isModerator);
    const round: RoundEntity = Object.assign(new RoundEntity(), {
      id: roundId,
      dialogueId,
      index: (last?.index ?? 0) + 1,
      requesterId,
      ...planned,
      keptImageId: null,
      status: 'queued',
      failureReason: null,
      steps: this.options.steps,
      guidanceScale: this.options.guidanceScale,
      scheduler: this.options.scheduler,
      loras: this.options.loras,
      requestKey,
      postedAt: null,
      postedMessageId: null,
      completedAt: null,
    } satisfies Omit<RoundEntity, 'createdAt'>);
    const inserted = await this.insertRound(round);
    if ('duplicate' in inserted) {
      const winner = await this.roundByRequestKey(dialogueId, requestKey);
      if (winner) return winner;
      throw roundInProgress(dialogueId);
    }
    round.createdAt = inserted.createdAt;
    const jobId = await this.enqueue(round, await this.parentKeyOf(round), communityIdOf(dialogue.platform, dialogue.workspaceId));
    return { dialogueId, round: toRoundView(round, []), jobId, duplicate: false };
  }

  private async roundByRequestKey(dialogueId: string, requestKey: string): Promise<RoundRequested | null> {
    const existing = await this.dataSource.getRepository(RoundEntity).findOne({ where: { dialogueId, requestKey }, select: { id: true } });
    if (!existing) return null;
    const round = await this.queries.getRound(existing.id);
    return { dialogueId, round, jobId: generationJobId(round.id), duplicate: true };
  }

  /** A dialogue, if it exists on that platform (a Slack user cannot reroll a web round). */
  private async dialogueOn(dialogueId: string, platform: IncomingMessage['platform']): Promise<DialogueEntity | null> {
    return this.dataSource.getRepository(DialogueEntity).findOneBy({ id: dialogueId, platform });
  }

  /**
   * One round in flight per thread. A round queued or running for longer than
   * `staleRoundAfterMs` no longer blocks: it is marked failed (its failure report was lost).
   */
  private async assertNoRoundInFlight(dialogueId: string, last: RoundEntity | null): Promise<void> {
    if (!last || (last.status !== 'queued' && last.status !== 'running')) return;
    if (Date.now() - last.createdAt.getTime() < this.options.staleRoundAfterMs) throw roundInProgress(dialogueId);
    await this.markRoundFailed(last.id, `no result after ${Math.round(this.options.staleRoundAfterMs / 60_000)} min`);
    last.status = 'failed';
  }

  /** `PROMPT_BLOCKED` when `text` holds a term blocked in `scope`, unless a moderator wrote it. */
  private async refuseBlocked(scope: PolicyScope, text: string, what: 'message' | 'prompt', isModerator: () => Promise<boolean>): Promise<void> {
    const term = await this.policy.blockedTermIn(scope, [text]);
    if (term && !(await isModerator())) throw promptBlocked(term, what);
  }

  /**
   * A rater's use of the daily round quota (for a `/quota` command). One query; `limit` null and
   * `exempt` false when no quota is configured (`exempt` is the caller's to set for moderators).
   */
  async quotaUsage(user: { platform: IncomingMessage['platform']; userId: string }, author: MessageAuthor = {}): Promise<QuotaUsage> {
    const raterId = pseudonymousId(user.platform, user.userId, this.options.raterIdSalt);
    const limit = this.options.dailyRoundQuota;
    const [row] = (await this.dataSource.query(QUOTA_USAGE_SQL, [raterId, limit])) as Array<{
      used: number;
      oldest_frees_at: Date | null;
      frees_at: Date | null;
    }>;
    const used = row?.used ?? 0;
    if (limit === 0) return { used, limit: null, remaining: null, resetsAt: row?.oldest_frees_at ?? null, exempt: false };
    const exempt = await moderatorCheck(author)();
    const full = used >= limit;
    return {
      used,
      limit,
      remaining: Math.max(limit - used, 0),
      resetsAt: (full ? row?.frees_at : row?.oldest_frees_at) ?? null,
      exempt,
    };
  }

  /**
   * `limit - 1` (the parameter of `quotaFreesAtSql`) when the requester's rounds must be counted:
   * a quota is set and the author is not known to be a moderator. Null: no counting at all.
   */
  private quotaOffset(author: MessageAuthor): number | null {
    const limit = this.options.dailyRoundQuota;
    return limit > 0 && author.moderator !== true ? limit - 1 : null;
  }

  /** `QUOTA_EXCEEDED` when the admitting statement found the quota used up, unless a moderator asks. */
  private async refuseOverQuota(freesAt: Date | null, isModerator: () => Promise<boolean>): Promise<void> {
    if (freesAt && !(await isModerator())) throw quotaExceeded(this.options.dailyRoundQuota, freesAt);
  }

  /**
   * Record the rater on first sight; a banned one may not start rounds. With `quotaOffset`, also
   * reads when their used-up quota frees a round (null: a round is free).
   */
  private async admitRequester(
    raterId: string,
    platform: IncomingMessage['platform'],
    quotaOffset: number | null,
  ): Promise<{ quotaFreesAt: Date | null }> {
    const rows: Array<{ banned: boolean | null; quota_frees_at?: Date | null }> =
      quotaOffset === null
        ? await this.dataSource.query(`${ADMIT_RATER_SQL} SELECT banned FROM rater`, [raterId, platform])
        : await this.dataSource.query(`${ADMIT_RATER_SQL} SELECT banned, (${quotaFreesAtSql('$3')}) AS quota_frees_at FROM rater`, [
            raterId,
            platform,
            quotaOffset,
          ]);
    await this.refuseBanned(raterId, rows[0]?.banned ?? null);
    return { quotaFreesAt: rows[0]?.quota_frees_at ?? null };
  }

  /**
   * One statement for the start of a message: record the rater on first sight, refuse a banned
   * one, and find or create the thread's dialogue (never created for a banned rater, nor for one
   * over the daily quota: with a quota set, the statement also reads when theirs frees a round).
   */
  private async admitAndOpenDialogue(
    msg: ReturnType<typeof IncomingMessageSchema.parse>,
    raterId: string,
    author: MessageAuthor,
    isModerator: () => Promise<boolean>,
  ): Promise<{ id: string; created: boolean }> {
    let quota = this.quotaOffset(author);
    const run = async () => {
      const counted = quota !== null;
      const sql = `${ADMIT_RATER_SQL},
                   ${counted ? `quota AS (${quotaFreesAtSql('$7')}),` : ''}
                   created AS (
                     INSERT INTO dialogues (id, platform, workspace_id, channel_id, thread_id, owner_id)
                     SELECT $3::uuid, $2, $4, $5, $6, $1 WHERE (SELECT banned FROM rater) IS NOT TRUE
                       ${counted ? 'AND NOT EXISTS (SELECT 1 FROM quota)' : ''}
                     ON CONFLICT (platform, thread_id) DO NOTHING RETURNING id)
                   SELECT (SELECT banned FROM rater) AS banned,
                          coalesce((SELECT id FROM created), (SELECT id FROM dialogues WHERE platform = $2 AND thread_id = $6)) AS id,
                          EXISTS (SELECT 1 FROM created) AS created
                          ${counted ? ', (SELECT frees_at FROM quota) AS quota_frees_at' : ''}`;
      const params = [raterId, msg.platform, randomUUID(), msg.workspaceId, msg.channelId, msg.threadId, ...(counted ? [quota] : [])];
      const [row] = (await this.dataSource.query(sql, params)) as Array<{ banned: boolean | null; id: string | null; created: boolean; quota_frees_at?: Date | null }>;
      return row;
    };
    let row = await run();
    await this.refuseBanned(raterId, row?.banned ?? null);
    if (row?.quota_frees_at) {
      await this.refuseOverQuota(row.quota_frees_at, isModerator);
      // A moderator over the quota: open the dialogue without it (rare, so a second statement).
      quota = null;
      row = await run();
    }
    let id = row?.id ?? null;
    // A concurrent first insert of the dialogue commits after this statement's snapshot (ON
    // CONFLICT waited for it but cannot see it): read what it committed.
    if (id === null) {
      const rows: Array<{ id: string }> = await this.dataSource.query(
        'SELECT id FROM dialogues WHERE platform = $1 AND thread_id = $2',
        [msg.platform, msg.threadId],
      );
      id = rows[0]?.id ?? null;
      if (id === null) throw new Error(`dialogue of ${msg.platform} thread ${msg.threadId} is neither created nor found`);
    }
    return { id, created: row?.created ?? false };
  }

  /** `banned` as the admitting statement read it; null when a concurrent first insert hid the rater. */
  private async refuseBanned(raterId: string, banned: boolean | null): Promise<void> {
    if (banned === null) {
      const rows: Array<{ banned: boolean }> = await this.dataSource.query('SELECT banned FROM raters WHERE id = $1', [raterId]);
      banned = rows[0]?.banned ?? false;
    }
    if (banned) throw new CoreError(CoreErrorCode.RaterBanned, 'You are not allowed to use this bot here.', { raterId });
  }

  /**
   * Insert the round; returns its created_at. A unique violation means another request won the
   * race: a message gets `ROUND_IN_PROGRESS`; a button round gets `duplicate` to check its key.
   */
  private async insertRound(round: RoundEntity): Promise<{ createdAt: Date } | { duplicate: true }> {
    try {
      const rows: Array<{ created_at: Date }> = await this.dataSource.query(
        `INSERT INTO rounds (id, dialogue_id, index, requester_id, user_text, refined_prompt, negative_prompt, refinement,
                             mode, parent_image_id, status, candidates, steps, guidance_scale, scheduler, loras,
                             origin, source_round_id, request_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, 'queued', $11::jsonb, $12, $13, $14, $15::jsonb, $16, $17, $18)
         RETURNING created_at`,
        [
          round.id,
          round.dialogueId,
          round.index,
          round.requesterId,
          round.userText,
          round.refinedPrompt,
          round.negativePrompt,
          JSON.stringify(round.refinement),
          round.mode,
          round.parentImageId,
          JSON.stringify(round.candidates),
          round.steps,
          round.guidanceScale,
          round.scheduler,
          JSON.stringify(round.loras),
          round.origin,
          round.sourceRoundId,
          round.requestKey,
        ],
      );
      return { createdAt: rows[0]!.created_at };
    } catch (error) {
      // Two deliveries of one click collide on either unique index (both take the same next index):
      // the caller tells them apart by looking the request key up.
      if (pgErrorCode(error) === PG_UNIQUE_VIOLATION) {
        if (round.requestKey !== null) return { duplicate: true };
        throw roundInProgress(round.dialogueId);
      }
      // The parent image was deleted by a moderator between planning and inserting.
      if (pgErrorCode(error) === PG_FOREIGN_KEY_VIOLATION) throw roundInProgress(round.dialogueId);
      throw error;
    }
  }

  private async planNextRound(
    rounds: RoundEntity[],
    lastCompletedStandings: CandidateStanding[],
    text: string,
  ): Promise<{ prompt: string; negativePrompt: string; refinement: RefinementRecord; parent: CandidateStanding | null }> {
    const last = rounds[rounds.length - 1];
    if (!last) {
      return { prompt: text.slice(0, MAX_PROMPT_CHARS), negativePrompt: '', refinement: { source: 'initial', edits: [] }, parent: null };
    }
    const refined: RefinedPrompt = await this.refiner.refine({
      previousPrompt: last.refinedPrompt,
      previousNegativePrompt: last.negativePrompt,
      feedback: text,
      context: {
        history: rounds.map((h) => ({ userText: h.userText, refinedPrompt: h.refinedPrompt })),
        previousEdits: last.refinement.edits as RefinedPrompt['edits'],
      },
    });
    const prompt = refined.prompt.trim() || last.refinedPrompt;
    const lastCompleted = [...rounds].reverse().find((r) => r.status === 'completed');
    return {
      prompt: prompt.slice(0, MAX_PROMPT_CHARS),
      negativePrompt: refined.negativePrompt.slice(0, MAX_PROMPT_CHARS),
      refinement: { source: refined.source, edits: refined.edits, ...(refined.fallbackReason ? { fallbackReason: refined.fallbackReason } : {}) },
      parent: lastCompleted ? chooseKeptImage(lastCompleted.keptImageId, lastCompletedStandings) : null,
    };
  }

  /** Each candidate of the dialogue's latest completed round with its distinct active ups and downs. */
  private async lastCompletedStandings(dialogueId: string): Promise<CandidateStanding[]> {
    const rows: Array<{ id: string; candidate_index: number; storage_key: string; ups: string; downs: string; reward: number | null }> =
      await this.dataSource.query(
        `SELECT i.id, i.candidate_index, i.storage_key, (i.scores->>'reward')::float8 AS reward,
                count(DISTINCT fe.rater_id) FILTER (WHERE fe.signal = 'up') AS ups,
                count(DISTINCT fe.rater_id) FILTER (WHERE fe.signal = 'down') AS downs
           FROM images i
           LEFT JOIN (feedback_events fe JOIN raters r ON r.id = fe.rater_id)
                  ON fe.image_id = i.id AND ${ACTIVE_LABEL_SQL}
          WHERE i.round_id = (SELECT id FROM rounds WHERE dialogue_id = $1 AND status = 'completed' ORDER BY index DESC LIMIT 1)
          GROUP BY i.id, i.candidate_index, i.storage_key`,
        [dialogueId],
      );
    return rows.map((r) => ({
      imageId: r.id,
      candidateIndex: r.candidate_index,
      storageKey: r.storage_key,
      ups: Number(r.ups),
      downs: Number(r.downs),
      reward: r.reward === null ? null : Number(r.reward),
    }));
  }

  /**
   * The job of a round. With best-of-K (`oversample` K above the round's N candidates) the job
   * asks for K candidates and `keep: N`: the round's own N plans first, then K − N more with seeds
   * derived from the round id like the others and the round's strengths repeated, so the job (and
   * every kept image, which stores its own seed and strength) stays reproducible.
   */
  private jobFor(round: RoundEntity, initImageKey: string | null, communityId: string | null): GenerationJob {
    const n = round.candidates.length;
    const k = this.options.oversample;
    const candidates =
      k > n
        ? [...round.candidates, ...Array.from({ length: k - n }, (_, j) => ({ seed: seedFor(round.id, n + j), strength: round.candidates[j % n]!.strength }))]
        : round.candidates;
    return GenerationJobSchema.parse({
      roundId: round.id,
      dialogueId: round.dialogueId,
      requesterId: round.requesterId,
      prompt: round.refinedPrompt,
      negativePrompt: round.negativePrompt,
      candidates,
      initImageKey,
      steps: round.steps,
      guidanceScale: round.guidanceScale,
      scheduler: round.scheduler,
      loras: round.loras,
      ...(communityId ? { communityId } : {}),
      ...(k > n ? { keep: n } : {}),
    });
  }

  /** The community of a stored round's dialogue (rounds re-enqueued after a restart). */
  private async communityOfRound(round: RoundEntity): Promise<string | null> {
    const dialogue = await this.dataSource.getRepository(DialogueEntity).findOne({
      where: { id: round.dialogueId },
      select: { id: true, platform: true, workspaceId: true },
    });
    return dialogue ? communityIdOf(dialogue.platform, dialogue.workspaceId) : null;
  }

  private async roundEntity(roundId: string): Promise<RoundEntity> {
    return this.dataSource.getRepository(RoundEntity).findOneByOrFail({ id: roundId });
  }

  private parentKeyOf(round: RoundEntity): Promise<string | null> {
    return this.parentKeyOfId(round.parentImageId);
  }

  private async parentKeyOfId(parentImageId: string | null): Promise<string | null> {
    if (!parentImageId) return null;
    const parent = await this.dataSource.getRepository(ImageEntity).findOne({
      where: { id: parentImageId },
      select: { id: true, storageKey: true },
    });
    return parent?.storageKey ?? null;
  }

  private async enqueue(round: RoundEntity, initImageKey: string | null, communityId: string | null): Promise<string> {
    const job = this.jobFor(round, initImageKey, communityId);
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

/** The author's moderator standing, asked at most once and only when a rule would refuse. */
function moderatorCheck(author: MessageAuthor): () => Promise<boolean> {
  const given = author.moderator;
  if (typeof given !== 'function') return () => Promise.resolve(given === true);
  let answer: Promise<boolean> | null = null;
  return () => (answer ??= given());
}

function roundInProgress(dialogueId: string): CoreError {
  return new CoreError(CoreErrorCode.RoundInProgress, 'Please wait: the current round is still being generated.', { dialogueId });
}
