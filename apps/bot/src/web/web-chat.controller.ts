import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Sse } from '@nestjs/common';
import type { DeletionResult, FeedbackSignal, QuotaUsage } from '@vca/core';
import type { Observable } from 'rxjs';
import type { RoundView, ThreadDetail, ThreadSummary } from '../chat/round-view';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';
import { carriesAdminToken } from '../moderation/admin-token.util';
import {
  WebUserIdSchema,
  PostMessageSchema,
  RateSchema,
  RoundRequestSchema,
  SignalParamSchema,
  StartThreadSchema,
  UuidParamSchema,
  type PostMessageBody,
  type RateBody,
  type RoundRequestBody,
  type StartThreadBody,
} from './web-chat.dto';
import { WebChatService } from './web-chat.service';
import { WebEventsHub, type SseFrame } from './web-events.hub';
import { ReceivedAt } from './received-at.decorator';
import { WebUser } from './web-user.decorator';
import { ZodPipe } from './zod-body.pipe';

/** JSON API behind the web chat; each handler validates its input and makes one service call. */
@Controller('api')
export class WebChatController {
  constructor(
    private readonly chat: WebChatService,
    private readonly hub: WebEventsHub,
    @Inject(BOT_CONFIG) private readonly config: BotConfig,
  ) {}

  /** The web chat's moderator: a request carrying the admin token (block list and quota do not apply). */
  private moderator(authorization: string | undefined): boolean {
    return carriesAdminToken(this.config.ADMIN_TOKEN, authorization);
  }

  /** All web threads; `mine` marks the viewer's own when the x-vca-user header is sent. */
  @Get('threads')
  listThreads(@Headers('x-vca-user') userId?: string): Promise<ThreadSummary[]> {
    const viewer = WebUserIdSchema.safeParse(userId);
    return this.chat.listThreads(viewer.success ? viewer.data : null);
  }

  @Post('threads')
  startThread(
    @WebUser() userId: string,
    @Body(new ZodPipe(StartThreadSchema)) body: StartThreadBody,
    @ReceivedAt() receivedAt: number,
    @Headers('authorization') authorization?: string,
  ): Promise<ThreadDetail> {
    return this.chat.startThread(userId, body.prompt, receivedAt, this.moderator(authorization));
  }

  /** The viewer's daily round quota: used, limit (null = none), remaining, resetsAt. */
  @Get('quota')
  quota(@WebUser() userId: string, @Headers('authorization') authorization?: string): Promise<QuotaUsage> {
    return this.chat.quota(userId, this.moderator(authorization));
  }

  @Get('threads/:id')
  getThread(@WebUser() userId: string, @Param('id', new ZodPipe(UuidParamSchema)) id: string): Promise<ThreadDetail> {
    return this.chat.getThread(userId, id);
  }

  @Post('threads/:id/messages')
  postMessage(
    @WebUser() userId: string,
    @Param('id', new ZodPipe(UuidParamSchema)) id: string,
    @Body(new ZodPipe(PostMessageSchema)) body: PostMessageBody,
    @ReceivedAt() receivedAt: number,
    @Headers('authorization') authorization?: string,
  ): Promise<RoundView> {
    return this.chat.postMessage(userId, id, body.text, receivedAt, this.moderator(authorization));
  }

  /** Reroll: a new round with this round's prompt and parent image, fresh seeds. */
  @Post('rounds/:id/reroll')
  reroll(
    @WebUser() userId: string,
    @Param('id', new ZodPipe(UuidParamSchema)) roundId: string,
    @Body(new ZodPipe(RoundRequestSchema)) body: RoundRequestBody,
    @ReceivedAt() receivedAt: number,
    @Headers('authorization') authorization?: string,
  ): Promise<RoundView> {
    return this.chat.reroll(userId, roundId, body.requestId, receivedAt, this.moderator(authorization));
  }

  /** Vary: a new round img2img from this candidate, same prompt, low strengths. */
  @Post('images/:id/vary')
  vary(
    @WebUser() userId: string,
    @Param('id', new ZodPipe(UuidParamSchema)) imageId: string,
    @Body(new ZodPipe(RoundRequestSchema)) body: RoundRequestBody,
    @ReceivedAt() receivedAt: number,
    @Headers('authorization') authorization?: string,
  ): Promise<RoundView> {
    return this.chat.vary(userId, imageId, body.requestId, receivedAt, this.moderator(authorization));
  }

  /** The thread's owner deletes it (403 FORBIDDEN for anyone else). */
  @Delete('threads/:id')
  deleteThread(@WebUser() userId: string, @Param('id', new ZodPipe(UuidParamSchema)) id: string): Promise<DeletionResult> {
    return this.chat.deleteThread(userId, id);
  }

  /** Live round updates of one thread (queue position, progress, results, failures). */
  @Sse('threads/:id/events')
  events(@Param('id', new ZodPipe(UuidParamSchema)) id: string): Observable<SseFrame> {
    return this.hub.stream(id);
  }

  @Post('images/:id/feedback')
  @HttpCode(200)
  rate(
    @WebUser() userId: string,
    @Param('id', new ZodPipe(UuidParamSchema)) imageId: string,
    @Body(new ZodPipe(RateSchema)) body: RateBody,
  ): Promise<RoundView> {
    return this.chat.rate(userId, imageId, body.signal, body.eventId);
  }

  @Delete('images/:id/feedback/:signal')
  revoke(
    @WebUser() userId: string,
    @Param('id', new ZodPipe(UuidParamSchema)) imageId: string,
    @Param('signal', new ZodPipe(SignalParamSchema)) signal: FeedbackSignal,
  ): Promise<RoundView> {
    return this.chat.revoke(userId, imageId, signal);
  }
}
