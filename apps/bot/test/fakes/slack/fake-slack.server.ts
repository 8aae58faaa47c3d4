import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface SlackUser {
  id: string;
  name: string;
}

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  user?: string;
  bot_id?: string;
  text: string;
  blocks: Array<Record<string, unknown>>;
  reactions: Array<{ name: string; users: string[] }>;
  edited?: { ts: string };
  /** Text after each chat.update (fake bookkeeping). */
  history: string[];
}

export interface FakeSlackFile {
  id: string;
  filename: string;
  length: number;
  data: Buffer | null;
  completed: boolean;
  channel?: string;
  thread_ts?: string;
}

export interface SignedDelivery {
  /** Raw body as sent; retries resend it unchanged. */
  body: string;
  contentType: string;
  eventId?: string;
}

/** Slack timestamps: seconds.micro, unique and increasing per workspace (like message ts). */
let lastTs = Date.now() * 1000;
function nextTs(): string {
  lastTs += 1;
  return `${Math.floor(lastTs / 1_000_000)}.${String(lastTs % 1_000_000).padStart(6, '0')}`;
}

/**
 * A fake Slack at the protocol level for end-to-end tests of the real Bolt app: the Web API
 * methods the adapter calls (auth.test, chat.*, files.getUploadURLExternal + the upload URL +
 * files.completeUploadExternal behind files.uploadV2, reactions.add, usergroups.users.list,
 * conversations.replies/open) and a signed Events API client (v0 HMAC-SHA256 of
 * `v0:<timestamp>:<body>`, x-slack-request-timestamp; retries resend the same body with
 * x-slack-retry-num). Slash commands and block actions arrive signed the same way.
 */
export class FakeSlack {
  readonly token = `xoxb-${randomBytes(8).toString('hex')}`;
  /** App-level token for Socket Mode (apps.connections.open). */
  readonly appToken = `xapp-${randomBytes(8).toString('hex')}`;
  readonly signingSecret = randomBytes(16).toString('hex');
  readonly teamId = 'T0FAKE';
  readonly botUserId = 'UBOT0001';
  readonly botId = 'BBOT0001';
  readonly channel = 'C0ART001';
  readonly moderatorGroup = 'S0MODS01';
  readonly moderators = new Set<string>();
  /** Channels the bot was invited to; posting elsewhere fails with not_in_channel. */
  readonly joined = new Set<string>([this.channel]);
  readonly messages: FakeSlackMessage[] = [];
  readonly files = new Map<string, FakeSlackFile>();
  readonly ephemerals: Array<{ channel: string; user: string; text: string }> = [];
  readonly responses: Array<Record<string, unknown>> = [];
  /** Web API calls by method name, in order. */
  readonly calls: string[] = [];
  /** When true, the Web API answers 503 (Slack unreachable). */
  down = false;
  /** Where the bot's Events API endpoint listens (set by the test once the bot is up). */
  eventsUrl = '';
  /**
   * Socket Mode: deliveries go as envelopes over the WebSocket the bot opened with
   * apps.connections.open, and the bot acknowledges each envelope id on the socket.
   */
  socketMode = false;
  private wss!: WebSocketServer;
  private socket: WebSocket | null = null;
  private readonly acks = new Map<string, () => void>();
  private server!: Server;
  private baseUrl = '';
  private counter = 0;

  static async start(): Promise<FakeSlack> {
    const fake = new FakeSlack();
    fake.server = createServer((req, res) => void fake.handle(req, res));
    fake.wss = new WebSocketServer({ server: fake.server, path: '/socket' });
    fake.wss.on('connection', (ws) => fake.onSocket(ws));
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.baseUrl = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** SLACK_API_URL for the bot (the Web API client appends the method name). */
  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  /** Resolves once a Socket Mode client is connected and greeted. */
  async socketConnected(timeoutMs = 15_000): Promise<void> {
    const started = Date.now();
    while (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      if (Date.now() - started > timeoutMs) throw new Error('fake slack: no Socket Mode connection');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  user(name: string): SlackUser {
    return { id: `U${(++this.counter).toString().padStart(8, '0')}`, name };
  }

  // ---- what users do (each returns the signed delivery so a test can retry or forge it) -----

  /** A user posts in the channel or in a thread; `@bot` in the text mentions the bot. */
  async userPosts(user: SlackUser, text: string, threadTs?: string): Promise<{ ts: string; deliveries: SignedDelivery[]; statuses: number[] }> {
    const ts = nextTs();
    const mention = `<@${this.botUserId}>`;
    const rendered = text.replace('@bot', mention);
    this.messages.push({ channel: this.channel, ts, thread_ts: threadTs, user: user.id, text: rendered, blocks: [], reactions: [], history: [rendered] });
    const base = { user: user.id, text: rendered, ts, channel: this.channel, event_ts: ts, ...(threadTs ? { thread_ts: threadTs } : {}) };
    const deliveries = [this.eventDelivery({ type: 'message', channel_type: 'channel', ...base })];
    if (rendered.includes(mention)) deliveries.push(this.eventDelivery({ type: 'app_mention', ...base }));
    const statuses: number[] = [];
    for (const d of deliveries) statuses.push((await this.deliver(d)).status);
    return { ts, deliveries, statuses };
  }

  react(user: SlackUser, message: FakeSlackMessage, name: string): Promise<Response> {
    return this.deliver(this.reactionDelivery('reaction_added', user, message, name));
  }

  unreact(user: SlackUser, message: FakeSlackMessage, name: string): Promise<Response> {
    return this.deliver(this.reactionDelivery('reaction_removed', user, message, name));
  }

  reactionDelivery(type: 'reaction_added' | 'reaction_removed', user: SlackUser, message: FakeSlackMessage, name: string): SignedDelivery {
    const ts = nextTs();
    return this.eventDelivery({ type, user: user.id, reaction: name, item: { type: 'message', channel: message.channel, ts: message.ts }, item_user: message.user ?? this.botUserId, event_ts: ts });
  }

  /** A slash command (form-encoded, as Slack posts it). */
  command(user: SlackUser, command: string, text: string, channel = this.channel): Promise<Response> {
    const id = (++this.counter).toString();
    const form = new URLSearchParams({
      token: 'verification-token-unused',
      team_id: this.teamId,
      channel_id: channel,
      channel_name: 'art',
      user_id: user.id,
      user_name: user.name,
      command,
      text,
      api_app_id: 'A0FAKE',
      response_url: `${this.baseUrl}/respond/${id}`,
      trigger_id: `trigger-${id}`,
    });
    return this.deliver({ body: form.toString(), contentType: 'application/x-www-form-urlencoded' });
  }

  /** A click on a Block Kit button of a message. */
  clickButton(user: SlackUser, message: FakeSlackMessage, actionId: string): Promise<Response> {
    return this.deliver(this.buttonDelivery(user, message, actionId));
  }

  /** The interactivity payload of a click, to deliver (and deliver again) with `deliver`. */
  buttonDelivery(user: SlackUser, message: FakeSlackMessage, actionId: string): SignedDelivery {
    const id = (++this.counter).toString();
    const payload = {
      type: 'block_actions',
      team: { id: this.teamId, domain: 'fake' },
      user: { id: user.id, username: user.name, team_id: this.teamId },
      api_app_id: 'A0FAKE',
      token: 'verification-token-unused',
      container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false, thread_ts: message.thread_ts },
      trigger_id: `trigger-${id}`,
      channel: { id: message.channel, name: 'art' },
      message: { type: 'message', ts: message.ts, thread_ts: message.thread_ts, text: message.text, blocks: message.blocks, bot_id: message.bot_id, user: message.user },
      response_url: `${this.baseUrl}/respond/${id}`,
      actions: [{ type: 'button', action_id: actionId, block_id: 'b', value: actionId.split(':')[2] ?? '', action_ts: nextTs() }],
    };
    return { body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), contentType: 'application/x-www-form-urlencoded' };
  }

  eventDelivery(event: Record<string, unknown>): SignedDelivery {
    const eventId = `Ev${(++this.counter).toString().padStart(8, '0')}`;
    const body = JSON.stringify({
      token: 'verification-token-unused',
      team_id: this.teamId,
      api_app_id: 'A0FAKE',
      event,
      type: 'event_callback',
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: this.teamId, user_id: this.botUserId, is_bot: true, is_enterprise_install: false }],
    });
    return { body, contentType: 'application/json', eventId };
  }

  /**
   * POSTs a delivery to the bot, signed now. `retryNum` adds Slack's retry headers; `secret`
   * and `timestamp` forge or age the signature.
   */
  deliver(d: SignedDelivery, opts: { retryNum?: number; secret?: string; timestamp?: number } = {}): Promise<Response> {
    if (this.socketMode) return this.deliverOverSocket(d, opts.retryNum ?? 0);
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = `v0=${createHmac('sha256', opts.secret ?? this.signingSecret).update(`v0:${timestamp}:${d.body}`).digest('hex')}`;
    const headers: Record<string, string> = { 'content-type': d.contentType, 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
    if (opts.retryNum !== undefined) Object.assign(headers, { 'x-slack-retry-num': String(opts.retryNum), 'x-slack-retry-reason': 'http_timeout' });
    return fetch(this.eventsUrl, { method: 'POST', headers, body: d.body });
  }

  /** The same delivery as a Socket Mode envelope; resolves (status 200) when the bot acks it. */
  private async deliverOverSocket(d: SignedDelivery, retryNum: number): Promise<Response> {
    if (!this.socket) throw new Error('fake slack: no Socket Mode connection');
    let type: string;
    let payload: unknown;
    if (d.contentType === 'application/json') [type, payload] = ['events_api', JSON.parse(d.body)];
    else {
      const form = new URLSearchParams(d.body);
      const interactive = form.get('payload');
      [type, payload] = interactive ? ['interactive', JSON.parse(interactive)] : ['slash_commands', Object.fromEntries(form)];
    }
    const envelopeId = `env-${(++this.counter).toString()}`;
    const acked = new Promise<void>((resolve) => this.acks.set(envelopeId, resolve));
    this.socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: retryNum, retry_reason: retryNum ? 'timeout' : '' }));
    await acked;
    return new Response(null, { status: 200 });
  }

  private onSocket(ws: WebSocket): void {
    this.socket = ws;
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as { envelope_id?: string };
      if (msg.envelope_id) this.acks.get(msg.envelope_id)?.();
    });
    ws.on('close', () => {
      if (this.socket === ws) this.socket = null;
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake', approximate_connection_time: 18060 }, connection_info: { app_id: 'A0FAKE' } }));
  }

  // ---- what tests read -----------------------------------------------------------------------

  threadReplies(threadTs: string): FakeSlackMessage[] {
    return this.messages.filter((m) => m.thread_ts === threadTs && m.ts !== threadTs);
  }

  // ---- Web API -------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const raw = await readBody(req);
    const send = (body: unknown, status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname.startsWith('/upload/')) {
      const file = this.files.get(url.pathname.split('/')[2]!);
      if (!file) return void send({ ok: false }, 404);
      // The upload URL takes raw bytes or a multipart form (what @slack/web-api sends).
      file.data = await uploadedBytes(raw, req.headers['content-type'] ?? '');
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${raw.length}`);
    }
    if (url.pathname.startsWith('/respond/')) {
      this.responses.push(JSON.parse(raw.toString() || '{}') as Record<string, unknown>);
      return void send({ ok: true });
    }
    if (!url.pathname.startsWith('/api/')) return void send({ ok: false, error: 'unknown_method' }, 404);
    const method = url.pathname.slice('/api/'.length);
    this.calls.push(method);
    if (this.down) return void send({ ok: false, error: 'service_unavailable' }, 503);
    if (method === 'apps.connections.open') {
      if (req.headers.authorization !== `Bearer ${this.appToken}`) return void send({ ok: false, error: 'invalid_auth' });
      return void send({ ok: true, url: `${this.baseUrl.replace('http', 'ws')}/socket?ticket=${randomBytes(4).toString('hex')}` });
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) return void send({ ok: false, error: 'invalid_auth' });
    const args = parseArgs(raw, req.headers['content-type'] ?? '');
    try {
      send({ ok: true, ...this.method(method, args) });
    } catch (err) {
      send({ ok: false, error: (err as Error).message });
    }
  }

  private method(method: string, a: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { url: 'https://fake.slack.com/', team: 'Fake', user: 'vca', team_id: this.teamId, user_id: this.botUserId, bot_id: this.botId, is_enterprise_install: false };
      case 'chat.postMessage': {
        if (!this.joined.has(String(a['channel'])) && !String(a['channel']).startsWith('D')) throw new Error('not_in_channel');
        const message: FakeSlackMessage = {
          channel: String(a['channel']),
          ts: nextTs(),
          thread_ts: a['thread_ts'] ? String(a['thread_ts']) : undefined,
          bot_id: this.botId,
          user: this.botUserId,
          text: String(a['text'] ?? ''),
          blocks: parseJson(a['blocks']) ?? [],
          reactions: [],
          history: [String(a['text'] ?? '')],
        };
        this.messages.push(message);
        return { channel: message.channel, ts: message.ts, message };
      }
      case 'chat.update': {
        const message = this.find(String(a['channel']), String(a['ts']));
        if ('text' in a) message.text = String(a['text']);
        message.blocks = parseJson(a['blocks']) ?? [];
        message.edited = { ts: nextTs() };
        message.history.push(message.text);
        return { channel: message.channel, ts: message.ts, text: message.text };
      }
      case 'chat.delete': {
        const i = this.messages.indexOf(this.find(String(a['channel']), String(a['ts'])));
        this.messages.splice(i, 1);
        return { channel: a['channel'], ts: a['ts'] };
      }
      case 'chat.postEphemeral':
        this.ephemerals.push({ channel: String(a['channel']), user: String(a['user']), text: String(a['text'] ?? '') });
        return { message_ts: nextTs() };
      case 'files.getUploadURLExternal': {
        const id = `F${(++this.counter).toString().padStart(8, '0')}`;
        this.files.set(id, { id, filename: String(a['filename']), length: Number(a['length']), data: null, completed: false });
        return { upload_url: `${this.baseUrl}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const list = parseJson<Array<{ id: string; title?: string }>>(a['files']) ?? [];
        const done = list.map(({ id }) => {
          const file = this.files.get(id);
          if (!file || !file.data) throw new Error('file_not_found');
          if (file.data.length !== file.length) throw new Error('file_size_mismatch');
          Object.assign(file, { completed: true, channel: a['channel_id'], thread_ts: a['thread_ts'] });
          return { id, name: file.filename, size: file.length };
        });
        return { files: done };
      }
      case 'reactions.add': {
        const message = this.find(String(a['channel']), String(a['timestamp']));
        const name = String(a['name']);
        const r = message.reactions.find((x) => x.name === name);
        if (r?.users.includes(this.botUserId)) throw new Error('already_reacted');
        if (r) r.users.push(this.botUserId);
        else message.reactions.push({ name, users: [this.botUserId] });
        return {};
      }
      case 'usergroups.users.list':
        if (a['usergroup'] !== this.moderatorGroup) throw new Error('no_such_subteam');
        return { users: [...this.moderators] };
      case 'conversations.replies': {
        const ts = String(a['ts']);
        const target = this.find(String(a['channel']), ts);
        const root = target.thread_ts ?? target.ts;
        return { messages: this.messages.filter((m) => m.ts === root || m.thread_ts === root), has_more: false };
      }
      case 'conversations.open':
        return { channel: { id: `D${String(a['users']).slice(1)}` } };
      default:
        throw new Error('unknown_method');
    }
  }

  private find(channel: string, ts: string): FakeSlackMessage {
    const message = this.messages.find((m) => m.channel === channel && m.ts === ts);
    if (!message) throw new Error('message_not_found');
    return message;
  }
}

function parseJson<T = Array<Record<string, unknown>>>(value: unknown): T | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

function parseArgs(raw: Buffer, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return JSON.parse(raw.toString() || '{}') as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(raw.toString()));
}

async function uploadedBytes(raw: Buffer, contentType: string): Promise<Buffer> {
  if (!contentType.startsWith('multipart/form-data')) return raw;
  const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  for (const value of form.values()) if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
  return Buffer.alloc(0);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
