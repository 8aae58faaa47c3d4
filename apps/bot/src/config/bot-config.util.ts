import { llmRefinerConfigFromEnv, REFINER_ENV } from '@vca/core';
import { ConfigError, parseEnv } from '@vca/shared';
import { BotEnvSchema, type BotConfig } from './bot-config.schema';

/**
 * Validates the bot's environment; throws ConfigError (from @vca/shared) naming each bad variable,
 * including the REFINER_LLM_* variables of the optional language-model refiner.
 */
export function loadBotConfig(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const config = parseEnv('bot', BotEnvSchema, env);
  try {
    llmRefinerConfigFromEnv(env);
  } catch (err) {
    const variable = Object.values(REFINER_ENV).find((name) => (err as Error).message.includes(name)) ?? REFINER_ENV.baseUrl;
    throw new ConfigError('bot', [{ variable, message: (err as Error).message }]);
  }
  return Object.freeze(config);
}
