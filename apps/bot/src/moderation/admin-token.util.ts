import { timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header carries the admin token (`Bearer <ADMIN_TOKEN>`), compared in
 * constant time so the token cannot be guessed byte by byte from response times. False while no
 * token is configured.
 */
export function carriesAdminToken(token: string | undefined, authorization: string | undefined): boolean {
  if (!token) return false;
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
