import { createHash } from 'node:crypto';
import type { Platform } from '../entities/enums';

/**
 * Pseudonymous rater id: sha256 of `salt:platform:userId`, hex. The same person on the same
 * platform always maps to the same id; the platform user id itself is never stored.
 */
export function pseudonymousId(platform: Platform, userId: string, salt = ''): string {
  return createHash('sha256').update(`${salt}:${platform}:${userId}`).digest('hex');
}
