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

/**
 * Buttons that ask for a new round: `vca:reroll:<round id>` (same prompt and parent, new seeds)
 * and `vca:vary:<image id>` (img2img from that candidate). Slack action ids use the same form.
 */
const ROUND_REQUESTS = ['reroll', 'vary'] as const;
export type RoundRequestKind = (typeof ROUND_REQUESTS)[number];

export function roundRequestCustomId(kind: RoundRequestKind, targetId: string): string {
  return `${PREFIX}:${kind}:${targetId}`;
}

export function parseRoundRequestCustomId(customId: string): { kind: RoundRequestKind; targetId: string } | null {
  const [prefix, kind, targetId] = customId.split(':');
  if (prefix !== PREFIX || !targetId || !(ROUND_REQUESTS as readonly string[]).includes(kind ?? '')) return null;
  return { kind: kind as RoundRequestKind, targetId };
}

/** Keycap reactions 1️⃣…🔟: reacting with N is a 👍 on candidate N, removing it revokes. */
export const NUMBER_REACTIONS = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣', '6️⃣', '7️⃣', '8️⃣', '9️⃣', '🔟'] as const;

export function candidateOfReaction(emoji: string | null): number | null {
  const i = NUMBER_REACTIONS.indexOf((emoji ?? '') as (typeof NUMBER_REACTIONS)[number]);
  return i < 0 ? null : i;
}
