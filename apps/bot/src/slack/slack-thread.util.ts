/**
 * A Slack thread is (channel, thread_ts); ts values are unique only per channel, so the core's
 * thread id joins both (dialogues are unique per platform thread).
 */
export function slackThreadId(channel: string, threadTs: string): string {
  return `${channel}:${threadTs}`;
}

export function parseSlackThreadId(threadId: string): { channel: string; threadTs: string } {
  const i = threadId.indexOf(':');
  return { channel: threadId.slice(0, i), threadTs: threadId.slice(i + 1) };
}
