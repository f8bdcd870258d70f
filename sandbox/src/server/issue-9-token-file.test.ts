/**
 * Issue 9: the shared secret between gateway and sandbox works with no
 * configuration. Without SANDBOX_TOKEN the sandbox generates one on first
 * start into `<cache dir>/sandbox.token` (mode 0600) and reuses it after; a
 * token file other users could read or swap is refused with a message that
 * says how to fix it.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../config.js';
import { resolveToken } from './sandboxParts.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function cacheDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cc-issue9-token-'));
  dirs.push(d);
  return d;
}

const isRoot = process.getuid?.() === 0;

describe('issue 9: the sandbox token file', () => {
  it('defaults to <cache dir>/sandbox.token, generates it 0600 on first start and reuses it', () => {
    const dir = cacheDir();
    const config = loadConfig({ CODECELL_CACHE_DIR: dir });
    expect(config.SANDBOX_TOKEN_FILE).toBe(join(dir, 'sandbox.token'));
    const token = resolveToken(config, silentLogger);
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(statSync(config.SANDBOX_TOKEN_FILE).mode & 0o777).toBe(0o600);
    expect(readFileSync(config.SANDBOX_TOKEN_FILE, 'utf8').trim()).toBe(token);
    expect(resolveToken(config, silentLogger)).toBe(token);
    expect(resolveToken(loadConfig({ CODECELL_CACHE_DIR: cacheDir() }), silentLogger)).not.toBe(token);
  });

  it('creates a missing cache directory 0700', () => {
    const file = join(cacheDir(), 'new', 'dir', 'sandbox.token');
    resolveToken(loadConfig({ SANDBOX_TOKEN_FILE: file }), silentLogger);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
  });

  it('uses SANDBOX_TOKEN when set, and writes no file', () => {
    const dir = cacheDir();
    expect(resolveToken(loadConfig({ CODECELL_CACHE_DIR: dir, SANDBOX_TOKEN: 'a-token-of-the-operator-1234' }), silentLogger)).toBe('a-token-of-the-operator-1234');
    expect(() => statSync(join(dir, 'sandbox.token'))).toThrow();
    expect(() => loadConfig({ SANDBOX_TOKEN: 'short' })).toThrow(/SANDBOX_TOKEN/);
  });

  it('refuses a token file other users can read, with the chmod that fixes it', () => {
    const file = join(cacheDir(), 'sandbox.token');
    writeFileSync(file, 'x'.repeat(40));
    chmodSync(file, 0o644);
    expect(() => resolveToken(loadConfig({ SANDBOX_TOKEN_FILE: file }), silentLogger)).toThrow(
      expect.objectContaining({ code: 'sandbox_unavailable', message: expect.stringMatching(new RegExp(`has mode 0644.*chmod 600 ${file}`)) as string }),
    );
  });

  it.runIf(isRoot)('refuses a token file owned by another user', () => {
    const file = join(cacheDir(), 'sandbox.token');
    writeFileSync(file, 'x'.repeat(40), { mode: 0o600 });
    chownSync(file, 65534, 65534);
    expect(() => resolveToken(loadConfig({ SANDBOX_TOKEN_FILE: file }), silentLogger)).toThrow(/owned by uid 65534/);
  });

  it('refuses a symbolic link and a file that holds no secret', () => {
    const dir = cacheDir();
    const target = join(dir, 'target');
    writeFileSync(target, 'x'.repeat(40), { mode: 0o600 });
    const link = join(dir, 'sandbox.token');
    symlinkSync(target, link);
    expect(() => resolveToken(loadConfig({ SANDBOX_TOKEN_FILE: link }), silentLogger)).toThrow(/symbolic link/);
    const empty = join(dir, 'empty.token');
    writeFileSync(empty, '\n', { mode: 0o600 });
    expect(() => resolveToken(loadConfig({ SANDBOX_TOKEN_FILE: empty }), silentLogger)).toThrow(/does not hold a secret/);
  });

  it('two sandboxes starting at once end up with the same token', async () => {
    const file = join(cacheDir(), 'sandbox.token');
    const script = `import('@codecell/server-kit').then((k) => process.stdout.write(k.ensureSecretFile(${JSON.stringify(file)}).secret))`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: join(import.meta.dirname, '..', '..') });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      });
    const tokens = await Promise.all([run(), run(), run(), run()]);
    expect(new Set(tokens).size).toBe(1);
    expect(readFileSync(file, 'utf8').trim()).toBe(tokens[0]);
  });
});
