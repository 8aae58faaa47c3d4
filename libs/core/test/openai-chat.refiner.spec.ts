import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  OpenAiChatPromptRefiner,
  SceneWorldPromptRefiner,
  createPromptRefiner,
  llmRefinerConfigFromEnv,
  type RefineInput,
} from '@vca/core';

/** A local fake of an OpenAI-compatible server; each test sets how it answers. */
type Handler = (body: any, req: IncomingMessage, res: ServerResponse) => void;

const input: RefineInput = {
  previousPrompt: 'a cat on a sofa',
  previousNegativePrompt: '',
  feedback: 'replace the cat with a dog',
  context: { history: [{ userText: 'a cat on a sofa', refinedPrompt: 'a cat on a sofa' }], previousEdits: [] },
};

function completion(content: string) {
  return { id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] };
}

describe(OpenAiChatPromptRefiner.name, () => {
  let server: Server;
  let baseUrl: string;
  let handler: Handler;
  const requests: Array<{ body: any; auth: string | undefined; url: string | undefined }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (chunk) => (data += chunk));
      req.on('end', () => {
        const body = JSON.parse(data);
        requests.push({ body, auth: req.headers.authorization, url: req.url });
        handler(body, req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    requests.length = 0;
  });

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  it('uses the model\'s JSON answer and sends model, key, history and feedback', async () => {
    handler = (_body, _req, res) =>
      json(res, 200, completion('```json\n{"prompt": "a dog on a sofa, cozy", "negative_prompt": "cat"}\n```'));
    const refiner = new OpenAiChatPromptRefiner({ baseUrl, model: 'tiny-chat', apiKey: 'sk-test', timeoutMs: 2000 });
    const out = await refiner.refine(input);
    expect(out).toMatchObject({ prompt: 'a dog on a sofa, cozy', negativePrompt: 'cat', source: 'llm' });
    expect(out.fallbackReason).toBeUndefined();
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toBe('/v1/chat/completions');
    expect(requests[0]!.auth).toBe('Bearer sk-test');
    expect(requests[0]!.body.model).toBe('tiny-chat');
    const userMessage = requests[0]!.body.messages[1].content as string;
    expect(userMessage).toContain('Previous prompt: a cat on a sofa');
    expect(userMessage).toContain('Feedback: replace the cat with a dog');
  });

  it('sends no Authorization header when no key is configured', async () => {
    handler = (_b, _r, res) => json(res, 200, completion('{"prompt": "a dog on a sofa"}'));
    const out = await new OpenAiChatPromptRefiner({ baseUrl: `${baseUrl}/`, model: 'm' }).refine(input);
    expect(out).toMatchObject({ prompt: 'a dog on a sofa', negativePrompt: '', source: 'llm' });
    expect(requests[0]!.auth).toBeUndefined();
    expect(requests[0]!.url).toBe('/v1/chat/completions');
  });

  it.each([
    ['an HTTP error', (res: ServerResponse) => json(res, 500, { error: 'boom' }), /HTTP 500/],
    ['a reply that is not a completion', (res: ServerResponse) => json(res, 200, { hello: 1 }), /not a chat completion/],
    ['JSON without a prompt', (res: ServerResponse) => json(res, 200, completion('{"text": "x"}')), /no usable "prompt"/],
    ['an empty answer', (res: ServerResponse) => json(res, 200, completion('   ')), /empty/],
    ['plain text (a refusal, say)', (res: ServerResponse) => json(res, 200, completion("I'm sorry, I can't help with that.")), /not JSON/],
    ['broken JSON', (res: ServerResponse) => json(res, 200, completion('{"prompt": "a dog')), /not JSON/],
  ])('falls back to the built-in refiner on %s', async (_name, respond, reason) => {
    handler = (_b, _r, res) => respond(res);
    const out = await new OpenAiChatPromptRefiner({ baseUrl, model: 'm', timeoutMs: 2000 }).refine(input);
    expect(out.source).toBe('rules');
    expect(out.prompt).toBe('a dog on a sofa');
    expect(out.fallbackReason).toMatch(reason);
  });

  it('falls back when the server does not answer within the timeout', async () => {
    handler = () => {
      /* never answers */
    };
    const started = Date.now();
    const out = await new OpenAiChatPromptRefiner({ baseUrl, model: 'm', timeoutMs: 150 }).refine(input);
    expect(out.source).toBe('rules');
    expect(out.prompt).toBe('a dog on a sofa');
    expect(out.fallbackReason).toMatch(/timed out after 150 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('falls back when nothing listens at the base URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const out = await new OpenAiChatPromptRefiner({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' }).refine(input);
    expect(out.source).toBe('rules');
    expect(out.fallbackReason).toBeTruthy();
  });
});

describe('refiner configuration from the environment', () => {
  it('uses the built-in refiner when no base URL is set', () => {
    expect(llmRefinerConfigFromEnv({})).toBeNull();
    expect(createPromptRefiner({})).toBeInstanceOf(SceneWorldPromptRefiner);
  });

  it('builds the LLM refiner from the variables', () => {
    const env = { REFINER_LLM_BASE_URL: 'http://127.0.0.1:9/v1', REFINER_LLM_MODEL: 'm', REFINER_LLM_TIMEOUT_MS: '1500' };
    expect(llmRefinerConfigFromEnv(env)).toEqual({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm', apiKey: undefined, timeoutMs: 1500 });
    expect(createPromptRefiner(env)).toBeInstanceOf(OpenAiChatPromptRefiner);
  });

  it('names the variable that is invalid', () => {
    expect(() => llmRefinerConfigFromEnv({ REFINER_LLM_BASE_URL: 'not a url', REFINER_LLM_MODEL: 'm' })).toThrow(/REFINER_LLM_BASE_URL/);
    expect(() => llmRefinerConfigFromEnv({ REFINER_LLM_BASE_URL: 'http://x/v1' })).toThrow(/REFINER_LLM_MODEL/);
    expect(() =>
      llmRefinerConfigFromEnv({ REFINER_LLM_BASE_URL: 'http://x/v1', REFINER_LLM_MODEL: 'm', REFINER_LLM_TIMEOUT_MS: 'soon' }),
    ).toThrow(/REFINER_LLM_TIMEOUT_MS/);
  });
});
