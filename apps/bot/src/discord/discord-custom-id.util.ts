import type { FeedbackSignal } from '@vca/core';

/** Button custom ids: `vca:<signal>:<image id>` (Discord allows 100 characters). */
const PREFIX = 'vca';
const SIGNALS = ['up', 'down', 'pick', 'tie'] as const satisfies readonly FeedbackSignal[];
export type ButtonSignal = (typeof SIGNALS)[number];

export function feedbackCustomId(signal: ButtonSignal, imageId: string): string {
  return `${PREFIX}:${signal}:${imageId}`;
}

export function parseFeedbackCustomId(customId: string): { signal: ButtonSignal; imageId: string } | null {
  const [prefix, signal, imageId] = customId.split(':');
  if (prefix !== PREFIX || !imageId || !(SIGNALS as readonly string[]).includes(signal ?? '')) return null;
  return { signal: signal as ButtonSignal, imageId };
}

/** Keycap reactions 1️⃣…🔟: reacting with N is a 👍 on candidate N, removing it revokes. */
export const NUMBER_REACTIONS = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣', '6️⃣', '7️⃣', '8️⃣', '9️⃣', '🔟'] as const;

export function candidateOfReaction(emoji: string | null): number | null {
  const i = NUMBER_REACTIONS.indexOf((emoji ?? '') as (typeof NUMBER_REACTIONS)[number]);
  return i < 0 ? null : i;
}
