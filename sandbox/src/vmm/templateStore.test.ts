/**
 * Kept snapshot templates (templateStore.ts): complete or absent, sparse
 * files stay sparse, damaged entries are removed, the directory must be ours
 * alone, and only the newest entries are kept.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP, TemplateStore } from './templateStore.js';

let base: string;
let from: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'cc-tplstore-'));
  from = join(base, 'from');
  mkdirSync(from);
  // A RAM file of 64 MiB with 4 KiB of data in the middle, and a small state file.
  writeFileSync(join(from, 'mem'), '');
  truncateSync(join(from, 'mem'), 64 << 20);
  const fd = Buffer.alloc(4096, 7);
  writeFileSync(join(from, 'mem'), fd, { flag: 'r+' });
  writeFileSync(join(from, 'state'), 'device state');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const store = (): TemplateStore => new TemplateStore(join(base, 'templates'));
const into = (name: string): string => {
  const d = join(base, name);
  mkdirSync(d);
  return d;
};

describe('TemplateStore', () => {
  it('copies a kept template back byte for byte, holes kept, into a private directory', async () => {
    const s = store();
    expect(await s.load('qemu-aaaaaaaa', into('none'))).toBe(false);
    await s.save('qemu-aaaaaaaa', from, ['mem', 'state']);
    expect(statSync(s.dir).mode & 0o777).toBe(0o700);
    const to = into('to');
    expect(await s.load('qemu-aaaaaaaa', to)).toBe(true);
    expect(readFileSync(join(to, 'state'), 'utf8')).toBe('device state');
    expect(readFileSync(join(to, 'mem')).equals(readFileSync(join(from, 'mem')))).toBe(true);
    const st = statSync(join(to, 'mem'));
    expect(st.size).toBe(64 << 20);
    expect(st.blocks * 512).toBeLessThan(1 << 20); // still sparse
    expect(readdirSync(s.dir)).toEqual(['qemu-aaaaaaaa']); // no leftovers of the save
  });

  it('removes a damaged entry instead of restoring from it', async () => {
    const s = store();
    await s.save('qemu-bbbbbbbb', from, ['mem', 'state']);
    writeFileSync(join(s.dir, 'qemu-bbbbbbbb', 'state'), 'cut');
    await expect(s.load('qemu-bbbbbbbb', into('to'))).rejects.toMatchObject({ code: 'vm_boot_failed' });
    expect(readdirSync(s.dir)).toEqual([]);
    await s.save('qemu-cccccccc', from, ['mem', 'state']);
    rmSync(join(s.dir, 'qemu-cccccccc', 'mem'));
    expect(await s.load('qemu-cccccccc', into('to2'))).toBe(false);
    expect(readdirSync(s.dir)).toEqual([]);
  });

  it('refuses a directory others can write, and bad keys and names', async () => {
    const s = store();
    mkdirSync(s.dir, { mode: 0o777 });
    chmodSync(s.dir, 0o777);
    await expect(s.save('qemu-dddddddd', from, ['mem'])).rejects.toMatchObject({ code: 'sandbox_unavailable' });
    await expect(s.load('qemu-dddddddd', into('to'))).rejects.toMatchObject({ code: 'sandbox_unavailable' });
    chmodSync(s.dir, 0o700);
    await expect(s.save('../escape', from, ['mem'])).rejects.toMatchObject({ code: 'internal_error' });
    await expect(s.save('qemu-dddddddd', from, ['../mem'])).rejects.toMatchObject({ code: 'internal_error' });
  });

  it('keeps the first of two saves of one key, and only the most recently used entries', async () => {
    const s = store();
    await Promise.all([s.save('qemu-eeeeeeee', from, ['state']), s.save('qemu-eeeeeeee', from, ['state'])]);
    expect(readdirSync(s.dir)).toEqual(['qemu-eeeeeeee']);
    const age = (key: string, minutes: number): void => {
      const t = new Date(Date.now() - minutes * 60_000);
      utimesSync(join(s.dir, key, 'meta.json'), t, t);
    };
    age('qemu-eeeeeeee', 60);
    const key = (i: number): string => `qemu-${String(i).padStart(8, '0')}`;
    for (let i = 0; i < KEEP - 1; i++) {
      await s.save(key(i), from, ['state']);
      age(key(i), KEEP - i);
    }
    expect(readdirSync(s.dir)).toHaveLength(KEEP);
    // The oldest entry is used again: the least recently used one goes when another is saved.
    expect(await s.load('qemu-eeeeeeee', into('to'))).toBe(true);
    await s.save(key(99), from, ['state']);
    const left = readdirSync(s.dir);
    expect(left).toHaveLength(KEEP);
    expect(left).toContain('qemu-eeeeeeee');
    expect(left).not.toContain(key(0));
  });
});
