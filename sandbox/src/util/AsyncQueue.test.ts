import { describe, expect, it } from 'vitest';
import { AsyncQueue } from './AsyncQueue.js';

describe('AsyncQueue', () => {
  it('delivers pushed items in order, then ends', async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    setTimeout(() => {
      q.push(2);
      q.end();
      q.push(3); // ignored after end
    }, 5);
    const seen: number[] = [];
    for await (const v of q) seen.push(v);
    expect(seen).toEqual([1, 2]);
  });

  it('delivers queued items before a failure', async () => {
    const q = new AsyncQueue<string>();
    q.push('a');
    q.fail(new Error('x'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const v of q) seen.push(v);
      })(),
    ).rejects.toThrow('x');
    expect(seen).toEqual(['a']);
  });

  it('tracks queued size and reports drains', () => {
    const drains: number[] = [];
    const q = new AsyncQueue<Buffer>((b) => b.length, (s) => drains.push(s));
    q.push(Buffer.alloc(10));
    q.push(Buffer.alloc(5));
    expect(q.queuedSize).toBe(15);
    expect(q.tryShift()?.length).toBe(10);
    expect(drains).toEqual([5]);
  });
});
