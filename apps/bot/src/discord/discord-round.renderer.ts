import { ActionRowBuilder, ButtonBuilder, ButtonStyle, type MessageEditOptions } from 'discord.js';
import type { RoundUpdate } from '../chat/chat-adapter.interface';
import type { RoundView } from '../chat/round-view';
import { formatScore, scoredByLine } from '../chat/round-view.mapper';
import { feedbackCustomId, roundRequestCustomId } from './discord-custom-id.util';

/**
 * Discord allows 5 action rows of 5 buttons; one row per candidate keeps "which image"
 * unambiguous, and the last row holds 🔁 Reroll. Candidates beyond these are rated by reactions.
 */
export const MAX_BUTTON_CANDIDATES = 4;

function roundTitle(index: number | undefined): string {
  return index === undefined ? 'Round' : `Round ${index}`;
}

function bar(step: number, total: number): string {
  const filled = total > 0 ? Math.round((10 * step) / total) : 0;
  return `${'▰'.repeat(filled)}${'▱'.repeat(10 - filled)}`;
}

/** The working message while a round waits or runs: one line, edited in place. */
export function renderStatus(update: Exclude<RoundUpdate, { kind: 'completed' }>, index?: number, etaSeconds: number | null = null): string | null {
  const title = `**${roundTitle(index)}**`;
  switch (update.kind) {
    case 'queued':
      return update.position === null ? `⏳ ${title} — queued, waiting for a GPU worker` : `⏳ ${title} — queued, position ${update.position}`;
    case 'started':
      return `⚙️ ${title} — generating…`;
    case 'progress':
      return `⚙️ ${title} — ${bar(update.step, update.totalSteps)} step ${update.step}/${update.totalSteps}${etaSeconds === null ? '' : ` · ~${etaSeconds} s left`}`;
    case 'retrying':
      return `⚠️ ${title} — an attempt failed (${update.reason}); retrying…`;
    case 'failed':
      return `❌ ${title} failed: ${update.reason}`;
    default:
      return null;
  }
}

/** What the bot understood, candidates' parameters, and how to rate. */
export function renderResultText(view: RoundView): string {
  // edits / negativePrompt arrive with the web side's newer RoundView; older ones lack them.
  const round = view as RoundView & { edits?: Array<{ kind: string; from?: string; to?: string }>; negativePrompt?: string };
  const how = round.origin === 'reroll' ? 'reroll' : round.origin === 'vary' ? `variation of ${round.userText.replace(/^\(vary (#\d+)\)$/, '$1')}` : round.mode === 'txt2img' ? 'text to image' : 'img2img from the kept image';
  const lines = [`**Round ${round.index}** · ${how}`, `> ${round.refinedPrompt}`];
  const edits = round.edits ?? [];
  if (edits.length) lines.push(`Understood: ${edits.map((e) => [e.kind, e.from, e.to && `→ ${e.to}`].filter(Boolean).join(' ')).join('; ')}`);
  if (round.negativePrompt) lines.push(`Avoiding: ${round.negativePrompt}`);
  lines.push(
    round.images
      .map((img) => `#${img.candidateIndex + 1}${img.score ? ` ${formatScore(img)}` : ''} seed ${img.seed}${img.strength === null ? '' : ` · strength ${img.strength.toFixed(2)}`} · ${img.modelVersion}`)
      .join('\n'),
  );
  const scored = round.scoredBy === undefined ? null : scoredByLine(round);
  if (scored) lines.push(`_${scored}_`);
  lines.push('Rate with the buttons or react 1️⃣–🔟 (👍 on that candidate); Vary or 🔁 Reroll for new candidates; reply in this thread to refine.');
  return lines.join('\n');
}

/** The 🔁 Reroll row: same prompt and starting image, new seeds (also offered on a failed round). */
export function renderRerollRow(roundId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(roundRequestCustomId('reroll', roundId)).setLabel('Reroll').setEmoji('🔁').setStyle(ButtonStyle.Secondary),
  );
}

/** One row per candidate: 👍, 👎, ⭐ pick (kept for the next round), = tie and Vary; then 🔁 Reroll. */
export function renderButtons(round: RoundView): ActionRowBuilder<ButtonBuilder>[] {
  const rows = round.images.slice(0, MAX_BUTTON_CANDIDATES).map((img) => {
    const n = img.candidateIndex + 1;
    return new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId(feedbackCustomId('up', img.id)).setLabel(`#${n}`).setEmoji('👍').setStyle(ButtonStyle.Secondary),
      new ButtonBuilder().setCustomId(feedbackCustomId('down', img.id)).setLabel(`#${n}`).setEmoji('👎').setStyle(ButtonStyle.Secondary),
      new ButtonBuilder().setCustomId(feedbackCustomId('pick', img.id)).setLabel(`Pick #${n}`).setEmoji('⭐').setStyle(ButtonStyle.Primary),
      // Tie: as good as the other candidates marked =, so they pair at 0.5/0.5 in exports.
      new ButtonBuilder().setCustomId(feedbackCustomId('tie', img.id)).setLabel(`= #${n}`).setStyle(ButtonStyle.Secondary),
      // Vary: img2img from this candidate at low strengths (subtle variations).
      new ButtonBuilder().setCustomId(roundRequestCustomId('vary', img.id)).setLabel(`Vary #${n}`).setStyle(ButtonStyle.Secondary),
    );
  });
  return [...rows, renderRerollRow(round.id)];
}

export function renderResult(round: RoundView, files: Array<{ attachment: Buffer; name: string }>): MessageEditOptions {
  return { content: renderResultText(round), files, components: renderButtons(round), attachments: [] };
}
