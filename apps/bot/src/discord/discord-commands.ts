import { SlashCommandBuilder, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';

export const IMAGINE_COMMAND = 'imagine';
export const MODERATION_COMMAND = 'vca-mod';
export const QUOTA_COMMAND = 'quota';

/**
 * The slash commands, registered by apps/bot/scripts/register-discord-commands.ts. /vca-mod is
 * checked against DISCORD_MODERATOR_ROLE_ID by the bot itself, so a server that forgets to limit
 * the command in its integration settings still refuses non-moderators.
 */
export function discordCommands(): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const imagine = new SlashCommandBuilder()
    .setName(IMAGINE_COMMAND)
    .setDescription('Start an image dialogue in a new thread')
    .addStringOption((o) => o.setName('prompt').setDescription('What to draw').setRequired(true).setMaxLength(2000));
  const mod = new SlashCommandBuilder()
    .setName(MODERATION_COMMAND)
    .setDescription('Moderate the labels the community gave (moderator role only)')
    .addSubcommand((s) =>
      s
        .setName('review')
        .setDescription('Recent labels')
        .addIntegerOption((o) => o.setName('limit').setDescription('How many (max 25)').setMinValue(1).setMaxValue(25)),
    )
    .addSubcommand((s) => s.setName('approve').setDescription('Approve a label').addStringOption((o) => o.setName('label').setDescription('Label id').setRequired(true)))
    .addSubcommand((s) =>
      s
        .setName('reject')
        .setDescription('Reject a label')
        .addStringOption((o) => o.setName('label').setDescription('Label id').setRequired(true))
        .addStringOption((o) => o.setName('reason').setDescription('Why')),
    )
    .addSubcommand((s) =>
      s
        .setName('ban')
        .setDescription('Ban a rater: their labels leave every export and training set')
        .addStringOption((o) => o.setName('reason').setDescription('Why').setRequired(true))
        .addUserOption((o) => o.setName('user').setDescription('The member'))
        .addStringOption((o) => o.setName('rater').setDescription('Pseudonymous rater id (from review)')),
    )
    .addSubcommand((s) =>
      s
        .setName('unban')
        .setDescription('Unban a rater')
        .addUserOption((o) => o.setName('user').setDescription('The member'))
        .addStringOption((o) => o.setName('rater').setDescription('Pseudonymous rater id')),
    )
    .addSubcommand((s) =>
      s
        .setName('export')
        .setDescription('Export the curated data')
        .addStringOption((o) =>
          o.setName('format').setDescription('pairs (Pick-a-Pic JSONL) or dialogues (JSON)').addChoices({ name: 'pairs', value: 'pairs' }, { name: 'dialogues', value: 'dialogues' }),
        ),
    )
    .addSubcommand((s) => s.setName('retrain').setDescription('Request a training run now'))
    .addSubcommand((s) =>
      s
        .setName('block')
        .setDescription("Add a term to this server's prompt block list")
        .addStringOption((o) => o.setName('term').setDescription('Word or phrase (whole words, any case)').setRequired(true).setMaxLength(100))
        .addStringOption((o) => o.setName('reason').setDescription('Why')),
    )
    .addSubcommand((s) =>
      s
        .setName('unblock')
        .setDescription("Remove a term from this server's prompt block list")
        .addStringOption((o) => o.setName('term').setDescription('The blocked term').setRequired(true).setMaxLength(100)),
    )
    .addSubcommand((s) => s.setName('blocklist').setDescription("This server's blocked terms (and those blocked everywhere)"))
    .addSubcommand((s) =>
      s
        .setName('runs')
        .setDescription('Latest training runs: status, stage decisions, key metrics')
        .addIntegerOption((o) => o.setName('limit').setDescription('How many (max 25)').setMinValue(1).setMaxValue(25)),
    )
    .addSubcommand((s) =>
      s
        .setName('versions')
        .setDescription('Model versions with their metrics (reward by default)')
        .addStringOption((o) =>
          o.setName('kind').setDescription('reward, lora or base').addChoices({ name: 'reward', value: 'reward' }, { name: 'lora', value: 'lora' }, { name: 'base', value: 'base' }),
        ),
    )
    .addSubcommand((s) =>
      s
        .setName('rollback')
        .setDescription("Roll this server's reward model back to the previous version (or to a named one)")
        .addStringOption((o) => o.setName('version').setDescription('Version name or id (from versions)').setMaxLength(200)),
    );
  const quota = new SlashCommandBuilder().setName(QUOTA_COMMAND).setDescription('How many rounds you have left today');
  return [imagine.toJSON(), mod.toJSON(), quota.toJSON()];
}
