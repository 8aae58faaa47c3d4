import type { GenerationResult } from '@vca/shared';

/**
 * Where the worker writes a round's outcome: the core's ConversationService (image rows, round
 * status). Narrowed to the three calls a worker makes.
 */
export const ROUND_RESULTS = Symbol('ROUND_RESULTS');

export interface RoundResultsPort {
  markRoundRunning(roundId: string): Promise<void>;
  recordGenerationResult(result: GenerationResult): Promise<unknown>;
  markRoundFailed(roundId: string, reason: string): Promise<unknown>;
}
