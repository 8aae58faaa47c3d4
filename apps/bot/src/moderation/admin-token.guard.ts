import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { BOT_CONFIG } from '../config/bot-config.module';
import type { BotConfig } from '../config/bot-config.schema';

/**
 * Moderation is gated by one configured admin token (`Authorization: Bearer <ADMIN_TOKEN>`).
 * Without ADMIN_TOKEN the moderation API is off rather than open.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly token: Buffer | null;

  constructor(@Inject(BOT_CONFIG) config: BotConfig) {
    this.token = config.ADMIN_TOKEN ? Buffer.from(config.ADMIN_TOKEN) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.token) throw new ForbiddenException('moderation is disabled: set ADMIN_TOKEN to enable it');
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) throw new UnauthorizedException('missing admin token');
    const given = Buffer.from(match[1]);
    // Constant-time comparison so the token cannot be guessed byte by byte from response times.
    if (given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
      throw new UnauthorizedException('wrong admin token');
    }
    return true;
  }
}
