import { randomUUID } from 'node:crypto';
import type { GenerationJobInput, GenerationResult } from '@vca/shared';

export function generationJob(requesterId: string, overrides: Partial<GenerationJobInput> = {}): GenerationJobInput {
  return {
    roundId: randomUUID(),
    dialogueId: randomUUID(),
    requesterId,
    prompt: 'a red circle on a blue square',
    candidates: [{ seed: 1, strength: 0.6 }],
    initImageKey: null,
    steps: 2,
    guidanceScale: 5,
    ...overrides,
  };
}

export function generationResult(roundId: string): GenerationResult {
  return {
    roundId,
    modelVersion: 'fixture',
    loraVersions: [],
    steps: 2,
    guidanceScale: 5,
    images: [
      { candidateIndex: 0, seed: 1, strength: 0.6, storageKey: `${'a'.repeat(64)}.png`, contentHash: 'a'.repeat(64), width: 8, height: 8 },
    ],
    elapsedMs: 1,
  };
}
