import type { RoundUpdate } from '../chat/chat-adapter.interface';
import type { RoundView } from '../chat/round-view';
import { formatScore, scoredByLine } from '../chat/round-view.mapper';
import { feedbackCustomId, roundRequestCustomId } from '../discord/discord-custom-id.util';

type Block = Record<string, unknown>;

/** Slack emoji names of the number reactions: reacting with N is a 👍 on candidate N. */
export const SLACK_NUMBER_REACTIONS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'keycap_ten'] as const;

export function candidateOfSlackReaction(name: string): number | null {
  const i = SLACK_NUMBER_REACTIONS.indexOf(name as (typeof SLACK_NUMBER_REACTIONS)[number]);
  return i < 0 ? null : i;
}

/** The working message while a round waits or runs (mrkdwn), or null for kinds not shown. */
export function renderSlackStatus(update: Exclude<RoundUpdate, { kind: 'completed' }>, index?: number, etaSeconds: number | null = null): string | null {
  const title = `*${index === undefined ? 'Round' : `Round ${index}`}*`;
  switch (update.kind) {
    case 'queued':
      return update.position === null ? `:hourglass_flowing_sand: ${title} — queued, waiting for a GPU worker` : `:hourglass_flowing_sand: ${title} — queued, position ${update.position}`;
    case 'started':
      return `:gear: ${title} — generating…`;
    case 'progress': {
      const filled = update.totalSteps > 0 ? Math.round((10 * update.step) / update.totalSteps) : 0;
      return `:gear: ${title} — ${'▰'.repeat(filled)}${'▱'.repeat(10 - filled)} step ${update.step}/${update.totalSteps}${etaSeconds === null ? '' : ` · ~${etaSeconds} s left`}`;
    }
    case 'retrying':
      return `:warning: ${title} — an attempt failed (${update.reason}); retrying…`;
    case 'failed':
      return `:x: ${title} failed: ${update.reason}`;
    default:
      return null;
  }
}

/** The 🔁 Reroll button: same prompt and starting image, new seeds (also under a failed round). */
export function renderSlackRerollBlock(roundId: string): Block {
  return {
    type: 'actions',
    block_id: 'round-actions',
    elements: [{ type: 'button', action_id: roundRequestCustomId('reroll', roundId), value: roundId, text: { type: 'plain_text', emoji: true, text: '🔁 Reroll' } }],
  };
}

/**
 * One message per round: what the bot understood, then per candidate its image (uploaded with
 * files.uploadV2, shown through `slack_file`) and 👍 / 👎 / ⭐ / = / Vary buttons; then 🔁 Reroll.
 */
export function renderSlackResult(view: RoundView, fileIds: string[]): { text: string; blocks: Block[] } {
  const round = view as RoundView & { edits?: Array<{ kind: string; from?: string; to?: string }>; negativePrompt?: string };
  const how = round.origin === 'reroll' ? 'reroll' : round.origin === 'vary' ? `variation of ${round.userText.replace(/^\(vary (#\d+)\)$/, '$1')}` : round.mode === 'txt2img' ? 'text to image' : 'img2img from the kept image';
  const header = [`*Round ${round.index}* · ${how}`, `> ${round.refinedPrompt}`];
  if (round.edits?.length) header.push(`Understood: ${round.edits.map((e) => [e.kind, e.from, e.to && `→ ${e.to}`].filter(Boolean).join(' ')).join('; ')}`);
  if (round.negativePrompt) header.push(`Avoiding: ${round.negativePrompt}`);
  const scored = round.scoredBy === undefined ? null : scoredByLine(round);
  if (scored) header.push(`_${scored}_`);
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: header.join('\n') } }];
  round.images.forEach((img, i) => {
    const n = img.candidateIndex + 1;
    const params = `#${n}${img.score ? ` · ${formatScore(img)}` : ''} · seed ${img.seed}${img.strength === null ? '' : ` · strength ${img.strength.toFixed(2)}`} · ${img.modelVersion}`;
    if (fileIds[i]) blocks.push({ type: 'image', slack_file: { id: fileIds[i] }, alt_text: `candidate ${n}`, title: { type: 'plain_text', text: params } });
    blocks.push({
      type: 'actions',
      block_id: `candidate-${n}`,
      elements: [
        { type: 'button', action_id: feedbackCustomId('up', img.id), value: img.id, text: { type: 'plain_text', emoji: true, text: `👍 #${n}` } },
        { type: 'button', action_id: feedbackCustomId('down', img.id), value: img.id, text: { type: 'plain_text', emoji: true, text: `👎 #${n}` } },
        { type: 'button', action_id: feedbackCustomId('pick', img.id), value: img.id, style: 'primary', text: { type: 'plain_text', emoji: true, text: `⭐ Pick #${n}` } },
        { type: 'button', action_id: feedbackCustomId('tie', img.id), value: img.id, text: { type: 'plain_text', emoji: true, text: `= #${n}` } },
        // Vary: img2img from this candidate at low strengths (subtle variations).
        { type: 'button', action_id: roundRequestCustomId('vary', img.id), value: img.id, text: { type: 'plain_text', emoji: true, text: `Vary #${n}` } },
      ],
    });
  });
  blocks.push(renderSlackRerollBlock(round.id));
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'React :one: :two: … for a 👍 on that candidate; reply in this thread to refine.' }] });
  return { text: `Round ${round.index}: ${round.refinedPrompt}`, blocks };
}
