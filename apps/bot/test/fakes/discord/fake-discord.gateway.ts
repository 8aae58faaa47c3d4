import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

/** Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-opcodes). */
export const Op = { Dispatch: 0, Heartbeat: 1, Identify: 2, Resume: 6, Reconnect: 7, InvalidSession: 9, Hello: 10, HeartbeatAck: 11 } as const;

interface Frame {
  op: number;
  d: unknown;
  s?: number | null;
  t?: string | null;
}

export interface GatewayHooks {
  /** Valid bot token (IDENTIFY/RESUME with another one closes with 4004 Authentication failed). */
  token: string;
  /** Intents the application may use; asking for more closes with 4014 Disallowed intents. */
  allowedIntents(): number;
  /** READY payload minus session_id (with resume_gateway_url). */
  ready(): Record<string, unknown>;
  /** Dispatches sent right after READY (GUILD_CREATE). */
  afterReady(): Array<{ t: string; d: unknown }>;
}

export interface GatewayStats {
  connections: number;
  identifies: number;
  resumes: number;
  heartbeats: number;
  acks: number;
}

/**
 * The Discord gateway at the protocol level (https://discord.com/developers/docs/events/gateway):
 * HELLO with a heartbeat interval, IDENTIFY → READY + GUILD_CREATE, heartbeats answered with
 * ACK, and RESUME: dispatches sent while the client was away are kept by sequence number and
 * replayed before RESUMED, as Discord does. JSON encoding, no compression (discord.js without
 * zlib-sync asks for none).
 */
export class FakeDiscordGateway {
  readonly stats: GatewayStats = { connections: 0, identifies: 0, resumes: 0, heartbeats: 0, acks: 0 };
  private readonly wss: WebSocketServer;
  private socket: WebSocket | null = null;
  private sessionId: string | null = null;
  private seq = 0;
  /** Every dispatch of the current session by sequence number (for RESUME replay). */
  private readonly log: Frame[] = [];
  private live = false;
  private readonly waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  constructor(
    server: Server,
    private readonly hooks: GatewayHooks,
    private readonly heartbeatIntervalMs = 1000,
  ) {
    this.wss = new WebSocketServer({ server, path: '/gateway' });
    this.wss.on('connection', (ws) => this.onConnection(ws));
  }

  /** True while a client is identified (or resumed) and receiving dispatches. */
  get connected(): boolean {
    return this.live;
  }

  /** Sends a dispatch now, or keeps it for the client's RESUME when it is away. */
  dispatch(t: string, d: unknown): void {
    if (!this.sessionId) return; // no session: Discord would not deliver it either
    const frame: Frame = { op: Op.Dispatch, t, s: ++this.seq, d };
    this.log.push(frame);
    if (this.live) this.send(frame);
  }

  /** Drops the connection as a network failure would (close code 4000: resumable). */
  disconnect(code = 4000): void {
    this.live = false;
    this.socket?.close(code, 'fake gateway disconnect');
    this.socket = null;
  }

  async waitFor(test: () => boolean, timeoutMs = 15_000): Promise<void> {
    if (test()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fake gateway: timed out waiting')), timeoutMs);
      this.waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket): void {
    this.stats.connections++;
    if (this.socket && this.socket !== ws) this.socket.terminate();
    this.socket = ws;
    this.live = false;
    ws.on('message', (raw) => this.onFrame(ws, JSON.parse(raw.toString()) as Frame));
    ws.on('close', () => {
      if (this.socket === ws) {
        this.socket = null;
        this.live = false;
      }
    });
    this.send({ op: Op.Hello, d: { heartbeat_interval: this.heartbeatIntervalMs } }, ws);
    this.notify();
  }

  private onFrame(ws: WebSocket, frame: Frame): void {
    switch (frame.op) {
      case Op.Heartbeat:
        this.stats.heartbeats++;
        this.send({ op: Op.HeartbeatAck, d: null }, ws);
        this.stats.acks++;
        break;
      case Op.Identify: {
        const d = frame.d as { token: string; intents: number };
        if (d.token !== this.hooks.token) return void ws.close(4004, 'Authentication failed');
        if ((d.intents & ~this.hooks.allowedIntents()) !== 0) return void ws.close(4014, 'Disallowed intent(s)');
        this.stats.identifies++;
        this.sessionId = randomUUID();
        this.seq = 0;
        this.log.length = 0;
        this.live = true;
        this.dispatch('READY', { ...this.hooks.ready(), session_id: this.sessionId });
        for (const e of this.hooks.afterReady()) this.dispatch(e.t, e.d);
        break;
      }
      case Op.Resume: {
        const d = frame.d as { token: string; session_id: string; seq: number };
        if (d.token !== this.hooks.token) return void ws.close(4004, 'Authentication failed');
        if (d.session_id !== this.sessionId) return void this.send({ op: Op.InvalidSession, d: false }, ws);
        this.stats.resumes++;
        for (const missed of this.log.filter((f) => (f.s ?? 0) > d.seq)) this.send(missed, ws);
        this.live = true;
        this.send({ op: Op.Dispatch, t: 'RESUMED', s: this.seq, d: {} }, ws);
        break;
      }
      default:
        break;
    }
    this.notify();
  }

  private send(frame: Frame, ws: WebSocket | null = this.socket): void {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  private notify(): void {
    for (const w of [...this.waiters]) {
      if (w.test()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}
