import { LlmRefinerConfigSchema, OpenAiChatPromptRefiner, type LlmRefinerConfig } from './openai-chat.refiner';
import type { PromptRefiner } from './prompt-refiner.port';
import { RuleBasedPromptRefiner } from './rule-based.refiner';
import { SceneWorldPromptRefiner } from './scene-world.refiner';

/** Environment variables that configure the language-model refiner (all optional). */
export const REFINER_ENV = {
  baseUrl: 'REFINER_LLM_BASE_URL',
  model: 'REFINER_LLM_MODEL',
  apiKey: 'REFINER_LLM_API_KEY',
  timeoutMs: 'REFINER_LLM_TIMEOUT_MS',
} as const;

/**
 * The LLM refiner's configuration from the environment, or null when `REFINER_LLM_BASE_URL` is
 * unset (the built-in refiner is then used). Invalid values throw an error naming the variable.
 */
export function llmRefinerConfigFromEnv(env: Record<string, string | undefined>): LlmRefinerConfig | null {
  const baseUrl = env[REFINER_ENV.baseUrl];
  if (!baseUrl) return null;
  const timeout = env[REFINER_ENV.timeoutMs];
  const raw = {
    baseUrl,
    model: env[REFINER_ENV.model] ?? '',
    apiKey: env[REFINER_ENV.apiKey] || undefined,
    timeoutMs: timeout === undefined || timeout === '' ? undefined : Number(timeout),
  };
  const res = LlmRefinerConfigSchema.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const key = String(issue.path[0]) as keyof typeof REFINER_ENV;
    throw new Error(`Invalid ${REFINER_ENV[key] ?? 'refiner configuration'}: ${issue.message}`);
  }
  return raw;
}

/**
 * The configured refiner: the LLM one (falling back to the built-in one) or the built-in one. The
 * built-in one reads the scene world's language exactly (the shipped default model draws that
 * world) and any other prompt with the general English rules.
 */
export function createPromptRefiner(env: Record<string, string | undefined> = process.env): PromptRefiner {
  const config = llmRefinerConfigFromEnv(env);
  const builtIn = new SceneWorldPromptRefiner(new RuleBasedPromptRefiner());
  return config ? new OpenAiChatPromptRefiner(config, builtIn) : builtIn;
}

