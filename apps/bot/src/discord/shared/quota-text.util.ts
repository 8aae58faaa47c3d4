import type { QuotaUsage } from '@vca/core';

/** "HH:MM UTC" of a date, or with the day when it is not today. */
function when(date: Date, now: Date): string {
  const iso = date.toISOString();
  const time = `${iso.slice(11, 16)} UTC`;
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

/** The answer of `/quota` (Discord, Slack; the web page renders the JSON itself). */
export function quotaText(usage: QuotaUsage, now = new Date()): string {
  const rounds = (n: number) => `${n} round${n === 1 ? '' : 's'}`;
  if (usage.limit === null) return `No daily limit here. You asked for ${rounds(usage.used)} in the last 24 hours.`;
  const lines = [`You asked for ${rounds(usage.used)} of your ${usage.limit} in the last 24 hours; ${rounds(usage.remaining ?? 0)} left.`];
  if (usage.exempt) lines.push('As a moderator you are not held to the limit.');
  else if (usage.resetsAt) {
    lines.push(usage.remaining === 0 ? `Your next round frees at ${when(usage.resetsAt, now)}.` : `Your oldest round frees its slot at ${when(usage.resetsAt, now)}.`);
  }
  return lines.join(' ');
}
