/**
 * RoomTerminals with a scripted run core: followers joining and leaving while
 * the room's list or a session's log is being read keep hearing the room, and
 * nothing is left subscribed once nobody follows it.
 */
import { describe, expect, it } from 'vitest';
import type { OpenTerminal } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import type { RunSubscriber, RunSubscription } from './ports.js';
import { RoomTerminals } from './RoomTerminals.js';
import type { TerminalRuns } from './RoomTerminals.js';

/** A run core whose list reads and log subscriptions can be held back. */
function scripted() {
  let list: OpenTerminal[] = [];
  const watchers = new Set<() => void>();
  let listGate: Promise<void> | null = null;
  let subscribeGate: Promise<void> | null = null;
  let subscribed = 0;
  const hold = (set: (gate: Promise<void> | null) => void): (() => void) => {
    let open = (): void => undefined;
    set(new Promise<void>((r) => (open = r)));
    return () => {
      set(null);
      open();
    };
  };
  const runs: TerminalRuns = {
    openTerminal: () => Promise.reject(new Error('not in this test')),
    terminals: async () => {
      if (listGate) await listGate;
      return [...list];
    },
    watchTerminals: (_roomId, onChange) => {
      watchers.add(onChange);
      return () => void watchers.delete(onChange);
    },
    subscribe: async (_jobId: string, _s: RunSubscriber): Promise<RunSubscription> => {
      if (subscribeGate) await subscribeGate;
      subscribed++;
      let left = false;
      const unsubscribe = (): void => {
        if (!left) subscribed--;
        left = true;
      };
      return { hello: { type: 'hello', protocolVersion: 1, jobId: _jobId, startedBy: null, truncated: false }, replay: [], unsubscribe };
    },
  };
  return {
    runs,
    watchers,
    setList(next: OpenTerminal[]): void {
      list = next;
      for (const w of [...watchers]) w();
    },
    holdList: () =>
      hold((gate) => {
        listGate = gate;
      }),
    holdSubscribe: () =>
      hold((gate) => {
        subscribeGate = gate;
      }),
    subscribed: () => subscribed,
  };
}

const bash: OpenTerminal = { program: 'bash', jobId: 'j1', startedBy: null };
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('RoomTerminals', () => {
  it('a follower joining while the last other one leaves still hears the room', async () => {
    const s = scripted();
    const terminals = new RoomTerminals({ runs: s.runs, logger: silentLogger });
    const leaveA = await terminals.follow('r', () => undefined);
    const release = s.holdList();
    const seen: OpenTerminal[][] = [];
    const joining = terminals.follow('r', (open) => seen.push(open));
    leaveA();
    release();
    const leaveB = await joining;
    expect(seen).toEqual([[]]);
    s.setList([bash]);
    await settle();
    expect(seen.at(-1)).toEqual([bash]);
    leaveB();
    expect(s.watchers.size).toBe(0);
  });

  it('leaves no session log subscribed when its last follower left during a read', async () => {
    const s = scripted();
    const terminals = new RoomTerminals({ runs: s.runs, logger: silentLogger });
    const leave = await terminals.follow('r', () => undefined);
    const release = s.holdSubscribe();
    s.setList([bash, { program: 'node', jobId: 'j2', startedBy: null }, { program: 'python', jobId: 'j3', startedBy: null }]);
    await settle();
    leave();
    release();
    await settle();
    expect(s.subscribed()).toBe(0);
    expect(s.watchers.size).toBe(0);
  });
});
