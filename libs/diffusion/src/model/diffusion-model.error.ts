export type DiffusionModelErrorCode = 'MISSING_FILE' | 'INVALID_MODEL' | 'WRONG_SHAPE' | 'UNSUPPORTED_CONFIG' | 'LORA_MISMATCH';

/** A model directory or adapter that cannot be used; `code` lets callers branch on the kind. */
export class DiffusionModelError extends Error {
  override readonly name = 'DiffusionModelError';
  constructor(
    readonly code: DiffusionModelErrorCode,
    message: string,
  ) {
    super(message);
  }
}
