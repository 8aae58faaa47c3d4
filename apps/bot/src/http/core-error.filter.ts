import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus } from '@nestjs/common';
import { CoreError, CoreErrorCode } from '@vca/core';
import type { Response } from 'express';

/** HTTP status of each domain error kind; the core's messages are already safe to show users. */
const STATUS: Record<CoreErrorCode, HttpStatus> = {
  [CoreErrorCode.InvalidInput]: HttpStatus.BAD_REQUEST,
  [CoreErrorCode.DialogueNotFound]: HttpStatus.NOT_FOUND,
  [CoreErrorCode.RoundNotFound]: HttpStatus.NOT_FOUND,
  [CoreErrorCode.ImageNotFound]: HttpStatus.NOT_FOUND,
  [CoreErrorCode.RaterNotFound]: HttpStatus.NOT_FOUND,
  [CoreErrorCode.RaterBanned]: HttpStatus.FORBIDDEN,
  [CoreErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [CoreErrorCode.RoundInProgress]: HttpStatus.CONFLICT,
  [CoreErrorCode.QueueUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [CoreErrorCode.PromptBlocked]: HttpStatus.UNPROCESSABLE_ENTITY,
  [CoreErrorCode.QuotaExceeded]: HttpStatus.TOO_MANY_REQUESTS,
};

/** Turns the conversation core's CoreError into a JSON error response (`{statusCode, code, message}`). */
@Catch(CoreError)
export class CoreErrorFilter implements ExceptionFilter<CoreError> {
  catch(error: CoreError, host: ArgumentsHost): void {
    const status = STATUS[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
    host.switchToHttp().getResponse<Response>().status(status).json({ statusCode: status, code: error.code, message: error.message });
  }
}
