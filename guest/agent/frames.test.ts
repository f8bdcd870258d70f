/**
 * The guest agent's frame constants (guest/agent/frames.py) are the one copy
 * in the guest; they must match the host's (packages/protocol/src/agentFrames.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, FrameType, MAX_GUEST_FRAME_BYTES } from '@codecell/protocol';

const source = readFileSync(new URL('./frames.py', import.meta.url), 'utf8');
const constant = (name: string): number => {
  const m = new RegExp(`^${name} = ([0-9* ]+)$`, 'm').exec(source);
  if (!m?.[1]) throw new Error(`${name} is not defined in frames.py`);
  return m[1].split('*').reduce((a, b) => a * Number(b.trim()), 1);
};

describe('guest frame constants (SPEC 1.2, 1.3)', () => {
  it('uses the same frame numbers as the host', () => {
    for (const [name, value] of Object.entries(FrameType)) expect(constant(`T_${name.toUpperCase()}`), name).toBe(value);
    const defined = [...source.matchAll(/^T_(\w+) = \d+$/gm)].map((m) => m[1]?.toLowerCase());
    expect(defined.sort()).toEqual(Object.keys(FrameType).sort());
  });

  it('speaks the protocol version the host checks in ready', () => {
    expect(constant('PROTOCOL_VERSION')).toBe(AGENT_PROTOCOL_VERSION);
  });

  it('sends data frames the host accepts (a chunk plus headers under MAX_GUEST_FRAME_BYTES)', () => {
    expect(constant('CHUNK') + 4 + 1 + 4).toBeLessThanOrEqual(MAX_GUEST_FRAME_BYTES);
  });

  it('keeps the drain after exit SPEC 3.4 states (250 ms), in one place', () => {
    expect(source).toMatch(/^DRAIN_AFTER_EXIT_S = 0\.25$/m);
    for (const f of ['agent.py', 'runner.py', 'child.py', 'cgroups.py', 'warm.py']) {
      expect(readFileSync(new URL(`./${f}`, import.meta.url), 'utf8'), f).not.toMatch(/^(DRAIN_AFTER_EXIT_S|T_[A-Z]+) = /m);
    }
  });
});
