import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvFileError, describeEnvFile, loadEnvFile, loadServiceEnvFile } from './envFile.js';

const dirs: string[] = [];
function envFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'codecell-env-'));
  dirs.push(dir);
  const path = join(dir, '.env');
  writeFileSync(path, text);
  return path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('loadEnvFile (issue 8)', () => {
  it('fills in what the environment does not set; the environment wins', () => {
    const path = envFile('# comment\nPORT=4100\nRUN_TIMEOUT_MS=9000\nQUOTED="a b"\n');
    const env: Record<string, string | undefined> = { PORT: '4200', RUN_TIMEOUT_MS: '' };
    const result = loadEnvFile(path, env);
    expect(env).toEqual({ PORT: '4200', RUN_TIMEOUT_MS: '9000', QUOTED: 'a b' });
    expect(result).toEqual({ path, applied: ['QUOTED', 'RUN_TIMEOUT_MS'], overridden: ['PORT'] });
    expect(describeEnvFile(result!)).toBe(`read settings from ${path}: QUOTED, RUN_TIMEOUT_MS; the environment overrides PORT`);
  });

  it('returns null without a file, and names an unreadable one', () => {
    expect(loadEnvFile('/nonexistent/codecell/.env', {})).toBeNull();
    expect(() => loadEnvFile('/nonexistent/codecell/.env', {}, true)).toThrow(new EnvFileError('cannot read the settings file /nonexistent/codecell/.env: no such file'));
    const dir = mkdtempSync(join(tmpdir(), 'codecell-env-'));
    dirs.push(dir);
    expect(() => loadEnvFile(dir, {})).toThrow(EnvFileError);
    if (process.getuid?.() !== 0) {
      const path = envFile('A=1\n');
      chmodSync(path, 0);
      expect(() => loadEnvFile(path, {})).toThrow(EnvFileError);
    }
  });

  it('reads the file the override variable names instead of the default, and requires it', () => {
    const path = envFile('A=1\n');
    const env: Record<string, string | undefined> = { X_ENV_FILE: path };
    expect(loadServiceEnvFile({ defaultPath: '/nonexistent/.env', overrideVar: 'X_ENV_FILE', env })?.applied).toEqual(['A']);
    expect(() => loadServiceEnvFile({ defaultPath: path, overrideVar: 'X_ENV_FILE', env: { X_ENV_FILE: '/nonexistent/x.env' } })).toThrow(EnvFileError);
    expect(loadServiceEnvFile({ defaultPath: '/nonexistent/.env', overrideVar: 'X_ENV_FILE', env: {} })).toBeNull();
  });
});
