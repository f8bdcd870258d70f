import { describe, expect, it } from 'vitest';
import type { StreamMessage } from '@codecell/protocol';
import { ReplayLog } from './ReplayLog.js';

const out = (seq: number, data: string): StreamMessage => ({ type: 'event', seq, event: { type: 'stdout', data } });

describe('ReplayLog', () => {
  it('keeps only the latest queued position', () => {
    const log = new ReplayLog(100);
    log.append({ type: 'queued', position: 2 });
    log.append({ type: 'queued', position: 1 });
    log.append({ type: 'queued', position: 0 });
    expect(log.snapshot()).toEqual([{ type: 'queued', position: 0 }]);
  });

  it('never starts a kept tail inside a UTF-8 sequence', () => {
    const log = new ReplayLog(5);
    log.append(out(0, 'ééé')); // 6 bytes: one byte over budget
    const [first] = log.snapshot();
    expect(first).toEqual(out(0, 'éé'));
    expect(log.outputBytes).toBe(4);
    expect(log.truncated).toBe(true);
  });

  it('stays bounded over many appends (and compacts dropped entries)', () => {
    const log = new ReplayLog(1024);
    for (let i = 0; i < 10_000; i++) log.append(out(i, 'x'.repeat(100)));
    expect(log.outputBytes).toBeLessThanOrEqual(1024);
    const snap = log.snapshot();
    expect(snap.length).toBeLessThanOrEqual(12);
    expect(snap.at(-1)).toEqual(out(9999, 'x'.repeat(100)));
  });
});
