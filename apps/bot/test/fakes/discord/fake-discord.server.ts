import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeDiscordGateway } from './fake-discord.gateway';

/** Discord epoch-based ids; increasing, so ordering by id is ordering by time as on Discord. */
let lastSnowflake = BigInt(Date.now() - 1_420_070_400_000) << 22n;
export function snowflake(): string {
  lastSnowflake += 1n;
  return lastSnowflake.toString();
}

export interface FakeUser {
  id: string;
  username: string;
  bot?: boolean;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type: string;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: FakeUser & { discriminator: string; global_name: null; avatar: null };
  content: string;
  attachments: FakeAttachment[];
  embeds: unknown[];
  components: Array<{ type: number; components: Array<{ type: number; custom_id?: string; label?: string; style?: number; emoji?: unknown }> }>;
  mentions: unknown[];
  mention_roles: string[];
  mention_everyone: boolean;
  timestamp: string;
  edited_timestamp: string | null;
  flags: number;
  type: number;
  tts: boolean;
  pinned: boolean;
  /** Fake bookkeeping, not sent by Discord in this shape: contents after each edit. */
  history?: string[];
  reactions?: Array<{ emoji: { id: null; name: string }; count: number; me: boolean }>;
}

export interface FakeChannel {
  id: string;
  type: number;
  name: string;
  guild_id: string;
  parent_id?: string;
  owner_id?: string;
  position?: number;
  permission_overwrites?: unknown[];
  thread_metadata?: Record<string, unknown>;
  message_count?: number;
  member_count?: number;
}

export interface InteractionRecord {
  id: string;
  token: string;
  dispatchedAt: number;
  /** Interaction callback type (4 reply, 5 deferred reply, 6 deferred update, 7 update). */
  callbackType: number | null;
  callbackAt: number | null;
  ephemeral: boolean;
  /** The original response's content after edits, and follow-ups. */
  original: FakeMessage | null;
  followUps: FakeMessage[];
  /** Expired tokens answer 404 Unknown interaction / Unknown Webhook, as after 3 s or 15 min. */
  expired: boolean;
}

const API = '/api/v10';
const EPHEMERAL = 1 << 6;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A fake Discord at the protocol level for end-to-end tests of the real discord.js client: the
 * REST endpoints the adapter uses (gateway/bot, channels, threads, messages with multipart
 * attachments, reactions, interaction callbacks, webhook follow-ups, application commands) and
 * the gateway (FakeDiscordGateway). Tests drive it as users would: post a message, mention the
 * bot, invoke a command, click a button, add or remove a reaction.
 */
export class FakeDiscord {
  readonly token = `fake.${randomBytes(12).toString('hex')}`;
  readonly appId = snowflake();
  readonly bot: FakeUser = { id: this.appId, username: 'vca-bot', bot: true };
  readonly guildId = snowflake();
  readonly channelId = snowflake();
  readonly moderatorRoleId = snowflake();
  readonly channels = new Map<string, FakeChannel>();
  readonly messages = new Map<string, FakeMessage>();
  readonly deleted = new Set<string>();
  readonly files = new Map<string, Buffer>();
  readonly interactions = new Map<string, InteractionRecord>();
  /** INTERACTION_CREATE payloads by interaction id, for redelivery. */
  private readonly dispatched = new Map<string, Record<string, unknown>>();
  readonly commands: { global: unknown[]; guild: unknown[] } = { global: [], guild: [] };
  /** Every REST call, "METHOD /path" (without /api/v10), for assertions on what the adapter did. */
  readonly calls: string[] = [];
  /** Interaction callbacks later than this are refused, as Discord does after 3 s. */
  interactionDeadlineMs = 3000;
  /** When true, every REST call answers 503 (Discord unreachable). */
  down = false;
  /** The privileged MESSAGE_CONTENT intent is switched on in the developer portal. */
  messageContentIntent = true;
  gateway!: FakeDiscordGateway;
  private server!: Server;
  private baseUrl = '';

  private constructor() {
    this.channels.set(this.channelId, { id: this.channelId, type: 0, name: 'art', guild_id: this.guildId, position: 0, permission_overwrites: [] });
  }

  static async start(opts: { heartbeatIntervalMs?: number } = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord();
    fake.server = createServer((req, res) => void fake.handle(req, res));
    fake.gateway = new FakeDiscordGateway(
      fake.server,
      {
        token: fake.token,
        // All intents but MESSAGE_CONTENT (1 << 15) unless the portal switch is on.
        allowedIntents: () => (fake.messageContentIntent ? 0x3ffffff : 0x3ffffff & ~(1 << 15)),
        ready: () => ({
          v: 10,
          user: { ...fake.bot, discriminator: '0000', global_name: null, avatar: null, flags: 0 },
          guilds: [{ id: fake.guildId, unavailable: true }],
          resume_gateway_url: `${fake.baseUrl.replace('http', 'ws')}/gateway`,
          application: { id: fake.appId, flags: 0 },
          shard: [0, 1],
          private_channels: [],
        }),
        afterReady: () => [{ t: 'GUILD_CREATE', d: fake.guildPayload() }],
      },
      opts.heartbeatIntervalMs ?? 1000,
    );
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.baseUrl = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** REST base as DISCORD_API_BASE takes it (discord.js appends /v10). */
  get apiBase(): string {
    return `${this.baseUrl}/api`;
  }

  async close(): Promise<void> {
    await this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- what users do -------------------------------------------------------------------------

  user(name: string): FakeUser {
    return { id: snowflake(), username: name };
  }

  /**
   * A user posts in a channel or thread (a mention of the bot is `<@appId>` in the content);
   * `roles`: the author's roles in the message's member payload.
   */
  userPosts(author: FakeUser, channelId: string, content: string, opts: { roles?: string[] } = {}): FakeMessage {
    const mentions = content.includes(`<@${this.bot.id}>`) ? [this.userPayload(this.bot)] : [];
    const message = this.storeMessage(channelId, author, { content, mentions });
    this.gateway.dispatch('MESSAGE_CREATE', { ...message, member: this.memberPayload(author, opts.roles ?? []) });
    const channel = this.channels.get(channelId);
    if (channel?.message_count !== undefined) channel.message_count++;
    return message;
  }

  /** A user runs a slash command; returns the interaction record to watch its answers. */
  invokeCommand(user: FakeUser, name: string, options: unknown[], opts: { roles?: string[]; channelId?: string } = {}): InteractionRecord {
    const channelId = opts.channelId ?? this.channelId;
    return this.dispatchInteraction(user, opts.roles ?? [], channelId, {
      type: 2,
      data: { id: snowflake(), name, type: 1, options, guild_id: this.guildId },
    });
  }

  /** A user clicks a button of a message. */
  clickButton(user: FakeUser, messageId: string, customId: string): InteractionRecord {
    const message = this.messages.get(messageId);
    if (!message) throw new Error(`no message ${messageId}`);
    return this.dispatchInteraction(user, [], message.channel_id, { type: 3, data: { custom_id: customId, component_type: 2 }, message });
  }

  react(user: FakeUser, messageId: string, emoji: string): void {
    const message = this.messages.get(messageId);
    if (!message) throw new Error(`no message ${messageId}`);
    this.gateway.dispatch('MESSAGE_REACTION_ADD', {
      user_id: user.id,
      channel_id: message.channel_id,
      message_id: messageId,
      guild_id: this.guildId,
      member: this.memberPayload(user, []),
      emoji: { id: null, name: emoji },
      burst: false,
      type: 0,
      message_author_id: message.author.id,
    });
  }

  unreact(user: FakeUser, messageId: string, emoji: string): void {
    const message = this.messages.get(messageId);
    if (!message) throw new Error(`no message ${messageId}`);
    this.gateway.dispatch('MESSAGE_REACTION_REMOVE', {
      user_id: user.id,
      channel_id: message.channel_id,
      message_id: messageId,
      guild_id: this.guildId,
      emoji: { id: null, name: emoji },
      burst: false,
      type: 0,
    });
  }

  /** A user (or a moderator) deletes a message, as Discord reports it. */
  deleteMessage(messageId: string): void {
    const message = this.messages.get(messageId);
    if (!message) return;
    this.messages.delete(messageId);
    this.deleted.add(messageId);
    this.gateway.dispatch('MESSAGE_DELETE', { id: messageId, channel_id: message.channel_id, guild_id: this.guildId });
  }

  // ---- what tests read -----------------------------------------------------------------------

  threads(): FakeChannel[] {
    return [...this.channels.values()].filter((c) => c.type === 11);
  }

  messagesIn(channelId: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  file(attachment: FakeAttachment): Buffer {
    return this.files.get(attachment.id)!;
  }

  // ---- REST ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    try {
      if (url.pathname.startsWith('/attachments/')) {
        const data = this.files.get(url.pathname.split('/')[2]!);
        if (!data) throw new HttpError(404, 0, 'Not found');
        res.writeHead(200, { 'content-type': 'image/png' }).end(data);
        return;
      }
      if (!url.pathname.startsWith(API)) throw new HttpError(404, 0, '404: Not Found');
      const path = url.pathname.slice(API.length);
      this.calls.push(`${req.method} ${path}`);
      if (this.down) throw new HttpError(503, 0, 'Service Unavailable');
      const body = await readBody(req);
      const isWebhook = path.startsWith('/interactions/') || path.startsWith('/webhooks/');
      if (!isWebhook && req.headers.authorization !== `Bot ${this.token}`) throw new HttpError(401, 0, '401: Unauthorized');
      const out = await this.route(req.method ?? 'GET', path, body, req.headers['content-type'] ?? '');
      if (out === undefined) res.writeHead(204).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, 0, (err as Error).message);
      res.writeHead(e.status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: e.message, code: e.code }));
    }
  }

  private async route(method: string, path: string, raw: Buffer, contentType: string): Promise<unknown> {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    // Ids, emoji and interaction/webhook tokens become ':' so routes read like Discord's docs.
    const isParam = (p: string, i: number) =>
      /^\d+$/.test(p) || parts[i - 1] === 'reactions' || (i === 2 && (parts[0] === 'interactions' || parts[0] === 'webhooks'));
    const route = `${method} /${parts.map((p, i) => (isParam(p, i) ? ':' : p)).join('/')}`;
    const payload = () => this.parsePayload(raw, contentType);
    switch (route) {
      case 'GET /gateway/bot':
        return {
          url: `${this.baseUrl.replace('http', 'ws')}/gateway`,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
        };
      case 'GET /users/@me':
        return this.userPayload(this.bot);
      case 'GET /applications/@me':
        return { id: this.appId, name: 'vca', flags: 0, bot_public: true, bot_require_code_grant: false };
      case 'PUT /applications/:/commands':
        this.commands.global = JSON.parse(raw.toString());
        return (this.commands.global as Array<Record<string, unknown>>).map((c) => ({ ...c, id: snowflake(), application_id: this.appId, version: snowflake() }));
      case 'PUT /applications/:/guilds/:/commands':
        this.commands.guild = JSON.parse(raw.toString());
        return (this.commands.guild as Array<Record<string, unknown>>).map((c) => ({ ...c, id: snowflake(), application_id: this.appId, guild_id: this.guildId, version: snowflake() }));
      case 'GET /channels/:':
        return this.channel(parts[1]!);
      case 'POST /channels/:/messages': {
        this.channel(parts[1]!);
        const { json, files } = await payload();
        const message = this.storeMessage(parts[1]!, this.bot, json, files);
        this.gateway.dispatch('MESSAGE_CREATE', message);
        return message;
      }
      case 'GET /channels/:/messages/:':
        return this.message(parts[1]!, parts[3]!);
      case 'PATCH /channels/:/messages/:': {
        const message = this.message(parts[1]!, parts[3]!);
        const { json, files } = await payload();
        this.applyEdit(message, json, files);
        this.gateway.dispatch('MESSAGE_UPDATE', message);
        return message;
      }
      case 'DELETE /channels/:/messages/:':
        this.message(parts[1]!, parts[3]!);
        this.deleteMessage(parts[3]!);
        return undefined;
      case 'POST /channels/:/messages/:/threads': {
        const parent = this.channel(parts[1]!);
        const message = this.message(parts[1]!, parts[3]!);
        const { json } = await payload();
        // A thread started on a message takes the message's id (Discord does the same).
        return this.createThread(parent, message.id, String(json['name'] ?? 'thread'));
      }
      case 'POST /channels/:/threads': {
        const { json } = await payload();
        return this.createThread(this.channel(parts[1]!), snowflake(), String(json['name'] ?? 'thread'));
      }
      case 'PUT /channels/:/messages/:/reactions/:/@me': {
        const message = this.message(parts[1]!, parts[3]!);
        const name = parts[5]!;
        message.reactions ??= [];
        const r = message.reactions.find((x) => x.emoji.name === name);
        if (r) r.count++;
        else message.reactions.push({ emoji: { id: null, name }, count: 1, me: true });
        this.gateway.dispatch('MESSAGE_REACTION_ADD', {
          user_id: this.bot.id,
          channel_id: message.channel_id,
          message_id: message.id,
          guild_id: this.guildId,
          emoji: { id: null, name },
          burst: false,
          type: 0,
        });
        return undefined;
      }
      case 'POST /interactions/:/:/callback':
        return this.interactionCallback(parts[1]!, parts[2]!, await payload());
      case 'PATCH /webhooks/:/:/messages/@original': {
        const record = this.interactionByToken(parts[2]!);
        if (!record.original) throw new HttpError(404, 10008, 'Unknown Message');
        const { json, files } = await payload();
        this.applyEdit(record.original, json, files);
        return record.original;
      }
      case 'GET /webhooks/:/:/messages/@original': {
        const record = this.interactionByToken(parts[2]!);
        if (!record.original) throw new HttpError(404, 10008, 'Unknown Message');
        return record.original;
      }
      case 'POST /webhooks/:/:': {
        const record = this.interactionByToken(parts[2]!);
        const { json, files } = await payload();
        const ephemeral = ((Number(json['flags'] ?? 0) & EPHEMERAL) !== 0);
        const message = ephemeral ? this.buildMessage(this.interactionChannel(record), this.bot, json, files) : this.storeMessage(this.interactionChannel(record), this.bot, json, files);
        message.flags = ephemeral ? EPHEMERAL : 0;
        record.followUps.push(message);
        return message;
      }
      default:
        throw new HttpError(404, 0, `fake discord: no route for ${route}`);
    }
  }

  private interactionChannel(record: InteractionRecord): string {
    return (record as InteractionRecord & { channelId: string }).channelId;
  }

  private interactionCallback(id: string, token: string, body: { json: Record<string, unknown>; files: FakeAttachment[] }): undefined {
    const record = this.interactions.get(id);
    if (!record || record.token !== token || record.expired) throw new HttpError(404, 10062, 'Unknown interaction');
    if (Date.now() - record.dispatchedAt > this.interactionDeadlineMs) {
      record.expired = true;
      throw new HttpError(404, 10062, 'Unknown interaction');
    }
    if (record.callbackType !== null) throw new HttpError(400, 40060, 'Interaction has already been acknowledged.');
    record.callbackType = Number(body.json['type']);
    record.callbackAt = Date.now();
    const data = (body.json['data'] ?? {}) as Record<string, unknown>;
    record.ephemeral = (Number(data['flags'] ?? 0) & EPHEMERAL) !== 0;
    if (record.callbackType === 4 || record.callbackType === 5) {
      const channelId = this.interactionChannel(record);
      const content = record.callbackType === 4 ? data : { content: '' };
      record.original = record.ephemeral ? this.buildMessage(channelId, this.bot, content, body.files) : this.storeMessage(channelId, this.bot, content, body.files);
      record.original.flags = record.ephemeral ? EPHEMERAL : 0;
    }
    return undefined;
  }

  private interactionByToken(token: string): InteractionRecord {
    const record = [...this.interactions.values()].find((r) => r.token === token);
    if (!record || record.expired) throw new HttpError(404, 10015, 'Unknown Webhook');
    return record;
  }

  private dispatchInteraction(user: FakeUser, roles: string[], channelId: string, body: Record<string, unknown>): InteractionRecord {
    const channel = this.channel(channelId);
    const record: InteractionRecord & { channelId: string } = {
      id: snowflake(),
      token: randomBytes(16).toString('hex'),
      dispatchedAt: Date.now(),
      callbackType: null,
      callbackAt: null,
      ephemeral: false,
      original: null,
      followUps: [],
      expired: false,
      channelId,
    };
    this.interactions.set(record.id, record);
    const payload = {
      id: record.id,
      application_id: this.appId,
      token: record.token,
      version: 1,
      guild_id: this.guildId,
      channel_id: channelId,
      channel: { ...channel },
      member: this.memberPayload(user, roles),
      app_permissions: '2251799813685247',
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': this.guildId },
      context: 0,
      ...body,
    };
    this.dispatched.set(record.id, payload);
    this.gateway.dispatch('INTERACTION_CREATE', payload);
    return record;
  }

  /**
   * Delivers an interaction again with the same id and token, as Discord may after a gateway
   * hiccup: the second acknowledgement is refused (40060) like Discord's.
   */
  redeliverInteraction(record: InteractionRecord): void {
    const payload = this.dispatched.get(record.id);
    if (!payload) throw new Error(`no interaction ${record.id}`);
    this.gateway.dispatch('INTERACTION_CREATE', payload);
  }

  private createThread(parent: FakeChannel, id: string, name: string): FakeChannel {
    const thread: FakeChannel = {
      id,
      type: 11,
      name,
      guild_id: this.guildId,
      parent_id: parent.id,
      owner_id: this.bot.id,
      message_count: 0,
      member_count: 1,
      thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString(), locked: false },
    };
    this.channels.set(id, thread);
    this.gateway.dispatch('THREAD_CREATE', { ...thread, newly_created: true });
    return thread;
  }

  private channel(id: string): FakeChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new HttpError(404, 10003, 'Unknown Channel');
    return channel;
  }

  private message(channelId: string, id: string): FakeMessage {
    const message = this.messages.get(id);
    if (!message || message.channel_id !== channelId) throw new HttpError(404, 10008, 'Unknown Message');
    return message;
  }

  private buildMessage(channelId: string, author: FakeUser, json: Record<string, unknown>, files: FakeAttachment[] = []): FakeMessage {
    return {
      id: snowflake(),
      channel_id: channelId,
      guild_id: this.guildId,
      author: { ...author, discriminator: '0000', global_name: null, avatar: null },
      content: String(json['content'] ?? ''),
      attachments: files,
      embeds: (json['embeds'] as unknown[]) ?? [],
      components: (json['components'] as FakeMessage['components']) ?? [],
      mentions: (json['mentions'] as unknown[]) ?? [],
      mention_roles: [],
      mention_everyone: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags: Number(json['flags'] ?? 0),
      type: 0,
      tts: false,
      pinned: false,
    };
  }

  private storeMessage(channelId: string, author: FakeUser, json: Record<string, unknown>, files: FakeAttachment[] = []): FakeMessage {
    const message = this.buildMessage(channelId, author, json, files);
    this.messages.set(message.id, message);
    return message;
  }

  private applyEdit(message: FakeMessage, json: Record<string, unknown>, files: FakeAttachment[]): void {
    message.history = [...(message.history ?? [message.content])];
    if ('content' in json) message.content = String(json['content'] ?? '');
    if ('components' in json) message.components = (json['components'] as FakeMessage['components']) ?? [];
    if ('embeds' in json) message.embeds = (json['embeds'] as unknown[]) ?? [];
    // `attachments` lists the existing ones to keep (by id) plus the new uploads.
    const keep = Array.isArray(json['attachments'])
      ? message.attachments.filter((a) => (json['attachments'] as Array<{ id: unknown }>).some((k) => String(k.id) === a.id))
      : message.attachments;
    message.attachments = [...keep, ...files];
    message.edited_timestamp = new Date().toISOString();
    message.history.push(message.content);
  }

  /** JSON body, or multipart with `payload_json` and `files[n]` parts (discord.js uploads). */
  private async parsePayload(raw: Buffer, contentType: string): Promise<{ json: Record<string, unknown>; files: FakeAttachment[] }> {
    if (!contentType.startsWith('multipart/form-data')) return { json: raw.length ? (JSON.parse(raw.toString()) as Record<string, unknown>) : {}, files: [] };
    const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
    const json = JSON.parse(String(form.get('payload_json') ?? '{}')) as Record<string, unknown>;
    const files: FakeAttachment[] = [];
    for (const [name, value] of form.entries()) {
      if (!name.startsWith('files[') || typeof value === 'string') continue;
      const id = snowflake();
      const data = Buffer.from(await value.arrayBuffer());
      this.files.set(id, data);
      const filename = value.name || `file-${id}`;
      files.push({ id, filename, size: data.length, url: `${this.baseUrl}/attachments/${id}/${filename}`, proxy_url: `${this.baseUrl}/attachments/${id}/${filename}`, content_type: value.type || 'application/octet-stream' });
    }
    return { json, files };
  }

  private userPayload(user: FakeUser): Record<string, unknown> {
    return { id: user.id, username: user.username, discriminator: '0000', global_name: null, avatar: null, bot: user.bot ?? false };
  }

  private memberPayload(user: FakeUser, roles: string[]): Record<string, unknown> {
    return { user: this.userPayload(user), roles, joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0, permissions: '1071698660929' };
  }

  private guildPayload(): Record<string, unknown> {
    const role = (id: string, name: string, position: number) => ({ id, name, permissions: '1071698660929', position, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 });
    return {
      id: this.guildId,
      name: 'VCA test guild',
      icon: null,
      owner_id: snowflake(),
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [role(this.guildId, '@everyone', 0), role(this.moderatorRoleId, 'moderators', 1)],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      system_channel_flags: 0,
      premium_tier: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      large: false,
      unavailable: false,
      member_count: 2,
      joined_at: new Date().toISOString(),
      voice_states: [],
      presences: [],
      members: [this.memberPayload(this.bot, [])],
      channels: [...this.channels.values()].filter((c) => c.type !== 11),
      threads: this.threads(),
      stage_instances: [],
      guild_scheduled_events: [],
    };
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
