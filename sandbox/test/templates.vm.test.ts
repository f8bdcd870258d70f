/**
 * Snapshot templates kept between sandbox processes (sandbox/src/vmm/
 * templateStore.ts), with real QEMU microVMs: the first start makes and keeps
 * one; the next start restores from it without booting, and its clones are
 * reseeded like any other (their randomness differs); a damaged kept template
 * is removed and a new one made, and programs still run.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '@codecell/server-kit';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import { runPy } from './runHelpers.js';

const base = mkdtempSync(join(tmpdir(), 'cc-tplkeep-'));
const store = join(base, 'templates');
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A logger that records what the sandbox said. */
function recorder(): Logger & { said: string[] } {
  const said: string[] = [];
  const add = (msg: string): void => void said.push(msg);
  return { said, debug: add, info: add, warn: add, error: add };
}

/** Starts a sandbox on the kept-template directory, runs a program that prints 16 random bytes, stops. */
async function startAndRun(): Promise<{ said: string[]; random: string }> {
  const logger = recorder();
  const sb = await createSandbox(loadConfig({ POOL_SIZE: '1', SANDBOX_RUN_DIR: mkdtempSync(join(base, 'run-')), SANDBOX_TEMPLATE_DIR: store }), logger);
  try {
    const r = await runPy(sb.runs, 'import os\nprint(os.urandom(16).hex())\n');
    expect(r.exit?.status, r.stderr).toBe('ok');
    return { said: logger.said, random: r.stdout.trim() };
  } finally {
    await sb.dispose(); // also waits until the new template is kept
  }
}

describe('snapshot templates kept between starts', () => {
  it('the next start restores from the kept template, reseeded; a damaged one is replaced', { timeout: 300_000 }, async () => {
    const first = await startAndRun();
    expect(first.said).toContain('snapshot template ready');
    const kept = readdirSync(store);
    expect(kept).toHaveLength(1);

    const second = await startAndRun();
    expect(second.said).toContain('snapshot template ready (kept by an earlier start)');
    expect(second.said).not.toContain('snapshot template ready');
    expect(second.random).toMatch(/^[0-9a-f]{32}$/);
    expect(second.random).not.toBe(first.random);

    writeFileSync(join(store, kept[0] as string, 'state'), 'not a migration stream');
    const third = await startAndRun();
    expect(third.said).toContain('kept snapshot template unusable; making a new one');
    expect(third.said).toContain('snapshot template ready');
    expect(readdirSync(store)).toEqual(kept); // made again and kept under the same key
  });
});
