import { describe, expect, it } from 'vitest';
import type { ChatAdapter, Platform, RoundUpdate, ThreadRef } from '../src/chat/chat-adapter.interface';
import { ChatAdapterRegistry } from '../src/chat/chat-adapter.registry';

/** A recording adapter: what the registry hands to a platform. */
function adapter(platform: Platform, opts: { failStart?: boolean; enabled?: boolean; deliveryScope?: 'platform' | 'replica' } = {}) {
  const delivered: Array<[ThreadRef, RoundUpdate]> = [];
  const self: ChatAdapter & { delivered: typeof delivered; started: boolean; stopped: boolean } = {
    platform,
    enabled: opts.enabled ?? true,
    deliveryScope: opts.deliveryScope ?? 'platform',
    delivered,
    started: false,
    stopped: false,
    async start() {
      if (opts.failStart) throw new Error('401: bad token');
      self.started = true;
    },
    async stop() {
      self.stopped = true;
    },
    async deliver(thread, update) {
      delivered.push([thread, update]);
    },
  };
  return self;
}

const thread = (platform: string): ThreadRef => ({ platform, dialogueId: 'd1', workspaceId: 'w', channelId: 'c', threadId: 't' });
const update: RoundUpdate = { kind: 'progress', dialogueId: 'd1', roundId: 'r1', step: 1, totalSteps: 4 };

describe(ChatAdapterRegistry.name, () => {
  it('routes each update to the adapter of the dialogue platform only', async () => {
    const web = adapter('web');
    const discord = adapter('discord');
    const sut = new ChatAdapterRegistry([web, discord]);
    expect(await sut.deliver(thread('discord'), update)).toBe(true);
    expect(discord.delivered).toEqual([[thread('discord'), update]]);
    expect(web.delivered).toEqual([]);
    expect(await sut.deliver(thread('slack'), update)).toBe(false);
  });

  it('starts every adapter; one failing to start does not stop the others', async () => {
    const web = adapter('web');
    const slack = adapter('slack', { failStart: true });
    const sut = new ChatAdapterRegistry([slack, web]);
    await expect(sut.onApplicationBootstrap()).resolves.toBeUndefined();
    expect(web.started).toBe(true);
    await sut.onApplicationShutdown();
    expect(web.stopped && slack.stopped).toBe(true);
  });

  it('refuses two adapters for one platform', () => {
    expect(() => new ChatAdapterRegistry([adapter('web'), adapter('web')])).toThrow(/two chat adapters registered for web/);
    const sut = new ChatAdapterRegistry([adapter('web')]);
    sut.register(adapter('slack'));
    expect(sut.platforms).toEqual(['web', 'slack']);
    expect(() => sut.register(adapter('slack'))).toThrow(/slack/);
  });

  it('tells which platforms every replica delivers to its own readers', () => {
    const registry = new ChatAdapterRegistry([adapter('web', { deliveryScope: 'replica' }), adapter('discord')]);
    expect(registry.deliversPerReplica('web')).toBe(true);
    expect(registry.deliversPerReplica('discord')).toBe(false);
    expect(registry.deliversPerReplica('slack')).toBe(false);
  });

  it('lists only configured adapters as served platforms', () => {
    const registry = new ChatAdapterRegistry([adapter('web'), adapter('discord', { enabled: false }), adapter('slack')]);
    expect(registry.platforms).toEqual(['web', 'slack']);
  });
});
