import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post, Query, UseFilters, UseGuards } from '@nestjs/common';
import type { AuditEntry, BlockedTermsView, DeletionResult, DialogueExport, ModelVersionEntity, RaterSummary, TrainingRunEntity } from '@vca/core';
import { CoreErrorFilter } from '../http/core-error.filter';
import { UuidParamSchema } from '../web/web-chat.dto';
import { ZodPipe } from '../web/zod-body.pipe';
import { AdminTokenGuard } from './admin-token.guard';
import {
  ApproveOrRejectSchema,
  BanSchema,
  BlockTermSchema,
  BlockedTermsQuerySchema,
  ListLabelsQuerySchema,
  ModelVersionsQuerySchema,
  PageQuerySchema,
  RequestTrainingRunSchema,
  RollbackSchema,
  TrainingRunsQuerySchema,
  RaterIdParamSchema,
  ReasonSchema,
  UnblockTermQuerySchema,
  type BanBody,
  type BlockTermBody,
  type BlockedTermsQuery,
  type ListLabelsQuery,
  type ModelVersionsQuery,
  type PageQuery,
  type RequestTrainingRunBody,
  type RollbackBody,
  type TrainingRunsQuery,
  type ReasonBody,
  type UnblockTermQuery,
} from './moderation.dto';
import { WebModerationService, type LabelRow } from './web-moderation.service';

/** Moderation API behind the moderation page; every route needs the admin token. */
@Controller('api/moderation')
@UseGuards(AdminTokenGuard)
// Also where the app is built without the global filter (the platform tests' testing module).
@UseFilters(CoreErrorFilter)
export class ModerationController {
  constructor(private readonly moderation: WebModerationService) {}

  @Get('labels')
  labels(@Query(new ZodPipe(ListLabelsQuerySchema)) query: ListLabelsQuery): Promise<LabelRow[]> {
    return this.moderation.labels(query);
  }

  @Post('labels/:id/:decision')
  @HttpCode(200)
  async decide(
    @Param('id', new ZodPipe(UuidParamSchema)) eventId: string,
    @Param('decision', new ZodPipe(ApproveOrRejectSchema)) decision: 'approve' | 'reject',
    @Body(new ZodPipe(ReasonSchema)) body: ReasonBody,
  ): Promise<{ updated: number }> {
    return { updated: await this.moderation.setLabelStatus(decision, eventId, body.reason) };
  }

  @Get('raters')
  raters(@Query('banned') banned?: string): Promise<RaterSummary[]> {
    return this.moderation.raters(banned === 'true');
  }

  @Post('raters/:id/ban')
  @HttpCode(200)
  async ban(@Param('id', new ZodPipe(RaterIdParamSchema)) raterId: string, @Body(new ZodPipe(BanSchema)) body: BanBody): Promise<{ banned: true }> {
    await this.moderation.ban(raterId, body.reason);
    return { banned: true };
  }

  @Post('raters/:id/unban')
  @HttpCode(200)
  async unban(
    @Param('id', new ZodPipe(RaterIdParamSchema)) raterId: string,
    @Body(new ZodPipe(ReasonSchema)) body: ReasonBody,
  ): Promise<{ banned: false }> {
    await this.moderation.unban(raterId, body.reason);
    return { banned: false };
  }

  @Delete('images/:id')
  deleteImage(@Param('id', new ZodPipe(UuidParamSchema)) imageId: string, @Query('reason') reason?: string): Promise<DeletionResult> {
    return this.moderation.deleteImage(imageId, reason);
  }

  @Delete('dialogues/:id')
  deleteDialogue(@Param('id', new ZodPipe(UuidParamSchema)) dialogueId: string, @Query('reason') reason?: string): Promise<DeletionResult> {
    return this.moderation.deleteDialogue(dialogueId, reason);
  }

  /** Pick-a-Pic-style preference pairs, one JSON object per line. */
  @Get('export/pairs.jsonl')
  @Header('content-type', 'application/x-ndjson; charset=utf-8')
  @Header('content-disposition', 'attachment; filename="vca-pairs.jsonl"')
  exportPairs(): Promise<string> {
    return this.moderation.exportPairs();
  }

  @Get('export/dialogues.json')
  @Header('content-disposition', 'attachment; filename="vca-dialogues.json"')
  exportDialogues(): Promise<DialogueExport[]> {
    return this.moderation.exportDialogues();
  }

  /** Global terms (configuration) and the per-workspace terms, of one workspace or of all. */
  @Get('blocked-terms')
  blockedTerms(@Query(new ZodPipe(BlockedTermsQuerySchema)) query: BlockedTermsQuery): Promise<BlockedTermsView> {
    return this.moderation.blockedTerms(query);
  }

  /** Block a term in a workspace (the web chat's unless platform/workspaceId say otherwise). */
  @Post('blocked-terms')
  blockTerm(@Body(new ZodPipe(BlockTermSchema)) body: BlockTermBody): Promise<{ term: string; added: boolean }> {
    return this.moderation.blockTerm(body);
  }

  @Delete('blocked-terms')
  unblockTerm(@Query(new ZodPipe(UnblockTermQuerySchema)) query: UnblockTermQuery): Promise<{ term: string; removed: boolean }> {
    return this.moderation.unblockTerm(query);
  }

  /** Latest training runs, newest first: status, per-stage decisions and metrics, progress, report. */
  @Get('training-runs')
  trainingRuns(@Query(new ZodPipe(TrainingRunsQuerySchema)) query: TrainingRunsQuery): Promise<TrainingRunEntity[]> {
    return this.moderation.trainingRuns(query.limit);
  }

  /** "Run now": enqueues a manual training job for the GPU server's training worker. */
  @Post('training-runs')
  @HttpCode(202)
  requestTrainingRun(@Body(new ZodPipe(RequestTrainingRunSchema)) body: RequestTrainingRunBody): Promise<{ jobId: string }> {
    return this.moderation.requestTrainingRun(body.requireApproval);
  }

  /** Model versions newest first, with their metrics and which are active (`?kind=reward&communityId=`). */
  @Get('model-versions')
  modelVersions(@Query(new ZodPipe(ModelVersionsQuerySchema)) query: ModelVersionsQuery): Promise<ModelVersionEntity[]> {
    return this.moderation.modelVersions(query);
  }

  /** Roll (kind, community) back to the previously active version, or to `toVersionId`. */
  @Post('model-versions/rollback')
  @HttpCode(200)
  rollback(@Body(new ZodPipe(RollbackSchema)) body: RollbackBody) {
    return this.moderation.rollback(body);
  }

  @Post('model-versions/:id/activate')
  @HttpCode(200)
  activateVersion(@Param('id', new ZodPipe(UuidParamSchema)) id: string): Promise<ModelVersionEntity> {
    return this.moderation.activateVersion(id);
  }

  @Get('audit')
  audit(@Query(new ZodPipe(PageQuerySchema)) page: PageQuery): Promise<AuditEntry[]> {
    return this.moderation.audit(page);
  }
}
