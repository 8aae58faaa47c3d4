/** Domain error kinds, so adapters can branch (reply to the user, 404, retry) without parsing text. */
export enum CoreErrorCode {
  InvalidInput = 'INVALID_INPUT',
  DialogueNotFound = 'DIALOGUE_NOT_FOUND',
  RoundNotFound = 'ROUND_NOT_FOUND',
  ImageNotFound = 'IMAGE_NOT_FOUND',
  RaterNotFound = 'RATER_NOT_FOUND',
  RaterBanned = 'RATER_BANNED',
  /** The caller may not do this (e.g. delete someone else's dialogue). */
  Forbidden = 'FORBIDDEN',
  RoundInProgress = 'ROUND_IN_PROGRESS',
  QueueUnavailable = 'QUEUE_UNAVAILABLE',
  /** The message or the refined prompt contains a term on the block list (the message names it). */
  PromptBlocked = 'PROMPT_BLOCKED',
  /** The rater used up the daily round quota (the message says when the next round frees). */
  QuotaExceeded = 'QUOTA_EXCEEDED',
}

/** Messages are short and safe to show to chat users. */
export class CoreError extends Error {
  constructor(
    readonly code: CoreErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CoreError';
  }
}

export function isCoreError(error: unknown, code?: CoreErrorCode): error is CoreError {
  return error instanceof CoreError && (code === undefined || error.code === code);
}
