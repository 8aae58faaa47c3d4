import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { performance } from 'node:perf_hooks';

/** Request property set by `stampReceivedAt`, the first middleware of the app. */
const RECEIVED_AT = Symbol('receivedAt');

/**
 * Express middleware: notes when a request reached the bot, before body parsing, guards and
 * pipes, so the measured "message received → job enqueued" span includes the HTTP layer.
 */
export function stampReceivedAt(req: Request, _res: unknown, next: () => void): void {
  (req as Request & { [RECEIVED_AT]?: number })[RECEIVED_AT] = performance.now();
  next();
}

/** `performance.now()` at which the request arrived (now, if the middleware did not run). */
export const ReceivedAt = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): number =>
    (ctx.switchToHttp().getRequest<Request & { [RECEIVED_AT]?: number }>()[RECEIVED_AT] ?? performance.now()),
);
