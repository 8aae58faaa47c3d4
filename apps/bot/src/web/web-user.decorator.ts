import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ZodPipe } from './zod-body.pipe';
import { WebUserIdSchema } from './web-chat.dto';

const readHeader = createParamDecorator((_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest<Request>().headers['x-vca-user']);

/** The web user's pseudonymous id from the `x-vca-user` header, validated. */
export const WebUser = (): ParameterDecorator => readHeader(new ZodPipe(WebUserIdSchema));
