import { describe, expect, it, vi } from 'vitest';
import { createLocalWorkspace } from './workspace';
import type { KeyValueStore } from './workspace';

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

describe('createLocalWorkspace', () => {
  it('starts with the starter program as the entry file', () => {
    const ws = createLocalWorkspace({ starter: 'print(1)\n' });
    expect(ws.snapshot()).toEqual({ entry: 'main.py', files: [{ path: 'main.py', content: 'print(1)\n' }] });
  });

  it('saves edits after a delay and loads them back', () => {
    vi.useFakeTimers();
    try {
      const store = memoryStore();
      const ws = createLocalWorkspace({ store, saveDelayMs: 100 });
      ws.write('main.py', 'print(2)\n');
      ws.write('util.py', 'X = 1\n');
      expect(store.data.size).toBe(0);
      vi.advanceTimersByTime(100);
      const again = createLocalWorkspace({ store });
      expect(again.read('main.py')).toBe('print(2)\n');
      expect(again.snapshot().files.map((f) => f.path)).toEqual(['main.py', 'util.py']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores corrupt saved data', () => {
    const store = memoryStore();
    store.setItem('codecell.workspace.v1', '{not json');
    expect(createLocalWorkspace({ store, starter: 's' }).read('main.py')).toBe('s');
  });
});
