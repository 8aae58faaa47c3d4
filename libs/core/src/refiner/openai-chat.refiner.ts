import { z } from 'zod';
import type { PromptRefiner, RefineInput, RefinedPrompt } from './prompt-refiner.port';
import { RuleBasedPromptRefiner } from './rule-based.refiner';

export const LlmRefinerConfigSchema = z.object({
  /** OpenAI-compatible API root, e.g. `http://127.0.0.1:8080/v1` (`/chat/completions` is appended). */
  baseUrl: z.string().url(),
  model: z.string().min(1),
  apiKey: z.string().min(1).optional(),
  timeoutMs: z.number().int().min(1).max(120_000).default(8000),
});
export type LlmRefinerConfig = z.input<typeof LlmRefinerConfigSchema>;

const MAX_HISTORY_ROUNDS = 12;

const ChatCompletionSchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});

const RefinementReplySchema = z.object({
  prompt: z.string().trim().min(1).max(2000),
  negative_prompt: z.string().max(2000).optional(),
});

/**
 * LLM_p and LLM_c of the VCA paper in one call (docs/vca-method.md §1): the model merges the
 * feedback into the previous prompt while keeping what the dialogue established (the history).
 */
export const REFINER_SYSTEM_PROMPT = [
  'You edit prompts for a text-to-image model during a conversation.',
  'Given the previous prompt, its negative prompt, the conversation so far and the user\'s new feedback,',
  'write the next prompt: apply the feedback, keep everything the user did not ask to change, stay concise.',
  'Things the user wants gone go into the negative prompt.',
  'Answer with JSON only: {"prompt": "...", "negative_prompt": "..."}',
].join(' ');

type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

/**
 * Refiner behind an OpenAI-compatible chat API. Any failure — network, timeout, HTTP status, a
 * reply that is not a prompt — falls back to the built-in rule-based refiner, with the reason in
 * `fallbackReason`, so a dialogue never stalls on the language model.
 */
export class OpenAiChatPromptRefiner implements PromptRefiner {
  private readonly config: z.output<typeof LlmRefinerConfigSchema>;

  constructor(
    config: LlmRefinerConfig,
    private readonly fallback: PromptRefiner = new RuleBasedPromptRefiner(),
    private readonly fetchImpl: FetchLike = fetch as unknown as FetchLike,
  ) {
    this.config = LlmRefinerConfigSchema.parse(config);
  }

  async refine(input: RefineInput): Promise<RefinedPrompt> {
    try {
      const reply = await this.ask(input);
      return {
        prompt: reply.prompt,
        negativePrompt: reply.negative_prompt ?? input.previousNegativePrompt,
        edits: [{ kind: 'rewrite', from: input.previousPrompt, to: reply.prompt }],
        source: 'llm',
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const refined = await this.fallback.refine(input);
      return { ...refined, fallbackReason: reason };
    }
  }

  private async ask(input: RefineInput): Promise<z.output<typeof RefinementReplySchema>> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.config.timeoutMs);
    try {
      // The last rounds carry what the dialogue established; a long thread must not outgrow the context window.
      const recent = input.context.history.slice(-MAX_HISTORY_ROUNDS);
      const first = input.context.history.length - recent.length + 1;
      const history = recent.map((h, i) => `${first + i}. user: ${h.userText} → prompt: ${h.refinedPrompt}`).join('\n');
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.config.apiKey) headers['authorization'] = `Bearer ${this.config.apiKey}`;
      const res = await this.fetchImpl(`${this.config.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
        method: 'POST',
        headers,
        signal: controller.signal,
        body: JSON.stringify({
          model: this.config.model,
          temperature: 0,
          messages: [
            { role: 'system', content: REFINER_SYSTEM_PROMPT },
            {
              role: 'user',
              content: [
                `Conversation so far:\n${history || '(none)'}`,
                `Previous prompt: ${input.previousPrompt}`,
                `Previous negative prompt: ${input.previousNegativePrompt || '(none)'}`,
                `Feedback: ${input.feedback}`,
              ].join('\n'),
            },
          ],
        }),
      });
      if (!res.ok) throw new Error(`refiner API answered HTTP ${res.status}`);
      const completion = ChatCompletionSchema.safeParse(await res.json());
      if (!completion.success) throw new Error('refiner API reply is not a chat completion');
      return parseReply(completion.data.choices[0]!.message.content ?? '');
    } catch (error) {
      if (controller.signal.aborted) throw new Error(`refiner API timed out after ${this.config.timeoutMs} ms`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The reply must be the JSON object the system prompt asks for (a ```json fence is tolerated).
 * Plain text is refused rather than used as a prompt: it may be a refusal or an explanation.
 */
export function parseReply(content: string): z.output<typeof RefinementReplySchema> {
  const text = content.trim().replace(/^```(?:json)?\s*/i, '').replace(/\s*```$/, '').trim();
  if (!text) throw new Error('refiner API reply is empty');
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) throw new Error('refiner API reply is not JSON');
  let json: unknown;
  try {
    json = JSON.parse(text.slice(start, end + 1));
  } catch {
    throw new Error('refiner API reply is not JSON');
  }
  const parsed = RefinementReplySchema.safeParse(json);
  if (!parsed.success) throw new Error('refiner API reply has no usable "prompt"');
  return parsed.data;
}
