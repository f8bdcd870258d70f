/**
 * Issue 10: a snapshot template was saved while its agent was still importing
 * numpy and pandas. `waitReady` pings every 50 ms until the first answer, and
 * a slow guest answers every ping it queued; those late pongs resolved the
 * `ready` that `prime` (and `reseed`) wait for, so the template was saved
 * mid-import and every clone spent its first ~30 s finishing it (its warm-up
 * run then missed its deadline). `prime` and `reseed` now wait for the answer
 * to their own frame (guest/SPEC.md 2.2, 2.4).
 */
import { describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, FrameType } from '@codecell/protocol';
import { AgentConnection } from './AgentConnection.js';
import { fakeChannel as channel } from '../../test/agentChannel.js';

const READY = { version: AGENT_PROTOCOL_VERSION, python: '3.11.2', uptimeMs: 1 };
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('issue 10: prime and reseed wait for their own answer', () => {
  it('prime is not answered by pongs to the pings that waited for boot (SPEC 2.4)', async () => {
    const { host, toHost, sent } = channel();
    const agent = new AgentConnection(host);
    const booted = agent.waitReady({ timeoutMs: 1000 });
    await new Promise((r) => setTimeout(r, 120)); // a slow boot: several pings queue up
    const pings = sent.filter((f) => f.type === FrameType.ping).length;
    expect(pings).toBeGreaterThan(1);
    toHost(FrameType.pong, { ...READY, seq: 0 });
    await booted;
    let primed = false;
    const prime = agent.prime({ timeoutMs: 1000 }).then(() => (primed = true));
    for (let i = 1; i < pings; i++) toHost(FrameType.pong, { ...READY, seq: 0 }); // the late answers
    await tick();
    expect(primed).toBe(false);
    const frame = sent.find((f) => f.type === FrameType.prime);
    expect(frame).toBeDefined();
    toHost(FrameType.ready, { ...READY, ...(frame?.body as object) });
    await prime;
    expect(primed).toBe(true);
    agent.dispose();
  });

  it('reseed is not answered by a ready the agent sent before it (SPEC 2.2)', async () => {
    const { host, toHost, sent } = channel();
    const agent = new AgentConnection(host);
    let reseeded = false;
    const reseed = agent.reseed({ timeoutMs: 1000 }).then(() => (reseeded = true));
    toHost(FrameType.ready, READY); // e.g. what a vsock agent says when the host connects
    toHost(FrameType.pong, { ...READY, seq: 0 });
    await tick();
    expect(reseeded).toBe(false);
    const frame = sent.find((f) => f.type === FrameType.reseed);
    toHost(FrameType.ready, { ...READY, seq: (frame?.body as { seq?: number }).seq });
    await reseed;
    expect(reseeded).toBe(true);
    agent.dispose();
  });
});
