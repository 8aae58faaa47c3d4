import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';
import { carriesAdminToken } from './admin-token.util';

/**
 * Moderation is gated by one configured admin token (`Authorization: Bearer <ADMIN_TOKEN>`).
 * Without ADMIN_TOKEN the moderation API is off rather than open.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly token: string | undefined;

  constructor(@Inject(BOT_CONFIG) config: BotConfig) {
    this.token = config.ADMIN_TOKEN;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.token) throw new ForbiddenException('moderation is disabled: set ADMIN_TOKEN to enable it');
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    if (!/^Bearer (.+)$/.test(header)) throw new UnauthorizedException('missing admin token');
    if (!carriesAdminToken(this.token, header)) throw new UnauthorizedException('wrong admin token');
    return true;
  }
}
