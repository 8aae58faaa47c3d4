import { Inject, Injectable, Logger } from '@nestjs/common';
import { FeedbackService, MAX_TERM_CHARS, MODEL_VERSION_KINDS, ModerationService, type BlockedTermsView, type LabelReviewItem } from '@vca/core';
import { z } from 'zod';
import { BOT_CONFIG } from '../../config/bot-config.module';
import type { BotConfig } from '../../config/bot-config.schema';
import { TrainingControl } from '../../training/training-control.service';
import { formatRunLine, formatVersionLine } from '../../training/training-report.format';
import type { ThreadPlatform } from './thread-chat.service';

const text = z.string().trim().min(1).max(500);

/** A moderator command as both adapters parse it (Discord options, Slack command text). */
export const ModCommandSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('review'), limit: z.number().int().min(1).max(25).default(10) }),
  z.object({ kind: z.literal('approve'), labelId: z.string().uuid() }),
  z.object({ kind: z.literal('reject'), labelId: z.string().uuid(), reason: text.optional() }),
  /** `raterId` (pseudonymous, as review shows it) or `userId` (a platform user to hash). */
  z.object({ kind: z.literal('ban'), raterId: text.optional(), userId: text.optional(), reason: text }),
  z.object({ kind: z.literal('unban'), raterId: text.optional(), userId: text.optional() }),
  z.object({ kind: z.literal('export'), format: z.enum(['pairs', 'dialogues']).default('pairs') }),
  z.object({ kind: z.literal('retrain') }),
  /** Prompt block list of the moderator's workspace (Discord server, Slack team). */
  z.object({ kind: z.literal('block'), term: z.string().trim().min(1).max(MAX_TERM_CHARS), reason: text.optional() }),
  z.object({ kind: z.literal('unblock'), term: z.string().trim().min(1).max(MAX_TERM_CHARS) }),
  z.object({ kind: z.literal('blocklist') }),
  /** Latest training runs with their stage decisions and key metrics. */
  z.object({ kind: z.literal('runs'), limit: z.number().int().min(1).max(25).default(5) }),
  /** Model versions (reward by default) with metrics; ✅ marks the active ones. */
  z.object({ kind: z.literal('versions'), modelKind: z.enum(MODEL_VERSION_KINDS).default('reward') }),
  /** Roll the reward model serving this workspace back (to the previous version, or to `version`). */
  z.object({ kind: z.literal('rollback'), version: text.optional() }),
]);
export type ModCommand = z.input<typeof ModCommandSchema>;

export interface ModAnswer {
  text: string;
  file?: { name: string; data: Buffer };
}

export const MOD_COMMAND_KINDS = ['review', 'approve', 'reject', 'ban', 'unban', 'export', 'retrain', 'block', 'unblock', 'blocklist', 'runs', 'versions', 'rollback'] as const;

/**
 * Moderator commands from chat (issue 6): the core's ModerationService behind a text interface
 * both adapters render. Who may call it is the adapter's check (a Discord role, a Slack user
 * group); every action is audited by the core under `<platform>:<user id>`.
 */
@Injectable()
export class ChatModerationService {
  private readonly logger = new Logger(ChatModerationService.name);

  constructor(
    private readonly moderation: ModerationService,
    private readonly feedback: FeedbackService,
    @Inject(BOT_CONFIG) private readonly config: BotConfig,
    private readonly training: TrainingControl,
  ) {}

  /** `workspaceId`: the Discord server or Slack team the command came from (scope of the block list). */
  async execute(platform: ThreadPlatform, moderatorUserId: string, input: ModCommand, workspaceId: string): Promise<ModAnswer> {
    const parsed = ModCommandSchema.safeParse(input);
    if (!parsed.success) return { text: `Invalid command: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'} ${i.message}`).join('; ')}` };
    const cmd = parsed.data;
    const mod = `${platform}:${moderatorUserId}`;
    switch (cmd.kind) {
      case 'review': {
        const labels = await this.moderation.listRecentLabels({ limit: cmd.limit });
        return { text: labels.length ? labels.map(formatLabel).join('\n') : 'No labels yet.' };
      }
      case 'approve':
        return { text: `Approved ${await this.moderation.approveLabels(mod, [cmd.labelId])} label(s).` };
      case 'reject':
        return { text: `Rejected ${await this.moderation.rejectLabels(mod, [cmd.labelId], cmd.reason)} label(s).` };
      case 'ban': {
        const rater = this.raterOf(platform, cmd);
        if (!rater) return { text: 'Name a rater id or a user to ban.' };
        await this.moderation.banRater(mod, rater, cmd.reason);
        return { text: `Banned rater ${rater}; their labels leave every export and training set.` };
      }
      case 'unban': {
        const rater = this.raterOf(platform, cmd);
        if (!rater) return { text: 'Name a rater id or a user to unban.' };
        await this.moderation.unbanRater(mod, rater);
        return { text: `Unbanned rater ${rater}.` };
      }
      case 'export': {
        if (cmd.format === 'pairs') {
          const { pairs, jsonl } = await this.moderation.exportPairs(mod, { imageDir: this.config.IMAGE_DIR });
          return { text: `Exported ${pairs.length} preference pair(s).`, file: { name: 'pairs.jsonl', data: Buffer.from(jsonl) } };
        }
        const dialogues = await this.moderation.exportDialogues(mod, { imageDir: this.config.IMAGE_DIR });
        return { text: `Exported ${dialogues.length} dialogue(s).`, file: { name: 'dialogues.json', data: Buffer.from(JSON.stringify(dialogues, null, 2)) } };
      }
      case 'retrain': {
        const jobId = await this.training.requestRun(mod);
        this.logger.log(`${mod} requested a training run (job ${jobId})`);
        return { text: `Training run requested (job ${jobId}). Its report goes to the moderators' channel when it ends; \`runs\` shows progress.` };
      }
      case 'runs': {
        const runs = await this.training.listRuns(cmd.limit);
        return { text: runs.length ? runs.map(formatRunLine).join('\n') : 'No training runs yet (`retrain` asks for one).' };
      }
      case 'versions': {
        const versions = await this.training.listVersions({ kind: cmd.modelKind });
        return { text: versions.length ? versions.slice(0, 15).map(formatVersionLine).join('\n') : `No ${cmd.modelKind} versions yet.` };
      }
      case 'rollback': {
        const community = `${platform}:${workspaceId}`;
        const scope = await this.training.servingScope('reward', community);
        const { from, serving } = await this.training.rollback(mod, { kind: 'reward', communityId: scope, toVersion: cmd.version });
        const now = serving ? `\`${serving.name}\` (${serving.communityId ?? 'global'})` : 'no trained version (plain cosine scores)';
        return { text: `Rolled back the reward model${from ? ` from \`${from.name}\`` : ''}: rounds here are now scored by ${now}.` };
      }
      case 'block': {
        const { term, added } = await this.moderation.blockTerm(mod, { platform, workspaceId }, cmd.term, cmd.reason);
        return { text: added ? `Blocked "${term}" here: prompts and feedback containing it are refused (moderators excepted).` : `"${term}" was already blocked here.` };
      }
      case 'unblock': {
        const { term, removed } = await this.moderation.unblockTerm(mod, { platform, workspaceId }, cmd.term);
        return { text: removed ? `Unblocked "${term}" here.` : `"${term}" is not on this server's block list${this.isGlobal(term) ? ' (it is blocked for every server by the bot\'s configuration)' : ''}.` };
      }
      case 'blocklist':
        return { text: formatBlockList(await this.moderation.listBlockedTerms({ platform, workspaceId })) };
    }
  }

  private isGlobal(term: string): boolean {
    return this.config.PROMPT_BLOCKLIST.includes(term);
  }

  private raterOf(platform: ThreadPlatform, cmd: { raterId?: string; userId?: string }): string | null {
    if (cmd.raterId) return cmd.raterId;
    return cmd.userId ? this.feedback.raterIdOf(platform, cmd.userId) : null;
  }

}

function formatBlockList(view: BlockedTermsView): string {
  const quote = (terms: string[]) => terms.map((t) => `\`${t}\``).join(', ');
  const local = view.workspace.map((t) => t.term);
  const lines = [local.length ? `Blocked here: ${quote(local)}` : 'Nothing is blocked here yet (`block <term>` adds a term).'];
  if (view.global.length) lines.push(`Blocked everywhere (configuration): ${quote(view.global)}`);
  return lines.join('\n');
}

function formatLabel(l: LabelReviewItem): string {
  const revoked = l.revokedAt ? ' (revoked)' : '';
  return `\`${l.eventId}\` ${l.signal} on #${l.candidateIndex + 1} of round ${l.roundIndex} by rater \`${l.raterId}\`${revoked} [${l.moderationStatus}] — ${l.prompt.slice(0, 80)}`;
}
