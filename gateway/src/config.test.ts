import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, HOSTED_QUOTA_DEFAULTS, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 4000,
      HOST: '127.0.0.1',
      SANDBOX_ADDR: 'http://127.0.0.1:5000',
      RUN_TIMEOUT_MS: 5000,
      MAX_MEM_MB: 128,
      MAX_VCPUS: 1,
      MAX_QUEUED_RUNS: 50,
      STREAM_REPLAY_BYTES: 1024 * 1024,
      STREAM_MAX_BUFFERED_BYTES: 4 * 1024 * 1024,
      RUN_RETENTION_MS: 300_000,
      CORS_ORIGINS: ['http://localhost:5173', 'http://127.0.0.1:5173'],
      LOG_LEVEL: 'info',
    });
    expect(c.FRONTEND_DIST).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('defaults the collab settings: COLLAB_DB in the codecell cache directory, 5 MiB and 100 files per room', () => {
    expect(loadConfig({ HOME: '/home/ada' })).toMatchObject({
      COLLAB_DB: '/home/ada/.cache/codecell/collab.sqlite',
      MAX_ROOM_BYTES: 5 * 1024 * 1024,
      MAX_ROOM_FILES: 100,
    });
    expect(loadConfig({ XDG_CACHE_HOME: '/var/cache/x', HOME: '/home/ada' }).COLLAB_DB).toBe('/var/cache/x/codecell/collab.sqlite');
    expect(loadConfig({ COLLAB_DB: ':memory:' }).COLLAB_DB).toBe(':memory:');
    expect(() => loadConfig({ MAX_ROOM_BYTES: '10' })).toThrow(/MAX_ROOM_BYTES: /);
  });

  it.each([
    ['10.0.0.5:5001', 'http://10.0.0.5:5001'],
    ['http://sandbox:5000/', 'http://sandbox:5000'],
    ['https://sbx.example.com', 'https://sbx.example.com'],
  ])('accepts SANDBOX_ADDR=%s', (raw, expected) => {
    expect(loadConfig({ SANDBOX_ADDR: raw }).SANDBOX_ADDR).toBe(expected);
  });

  it('parses numbers, origins and treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '0', MAX_QUEUED_RUNS: '2', CORS_ORIGINS: 'http://a.test:1, https://b.test', HOST: '' });
    expect(c.PORT).toBe(0);
    expect(c.MAX_QUEUED_RUNS).toBe(2);
    expect(c.CORS_ORIGINS).toEqual(['http://a.test:1', 'https://b.test']);
    expect(c.HOST).toBe('127.0.0.1');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['RUN_TIMEOUT_MS', '-5'],
    ['MAX_QUEUED_RUNS', '-1'],
    ['SANDBOX_ADDR', 'ftp://x:1'],
    ['CORS_ORIGINS', 'not a url'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*\\(got "${value}"\\)`));
  });

  it('documents every variable in .env.example', () => {
    const example = readFileSync(fileURLToPath(new URL('../.env.example', import.meta.url)), 'utf8');
    const missing = CONFIG_VARIABLES.filter((v) => !new RegExp(`^#? ?${v}=`, 'm').test(example));
    expect(missing).toEqual([]);
  });

  it('hosted modes get quotas by default, AUTH_MODE=none none; 0 means unlimited', () => {
    expect(loadConfig({ AUTH_MODE: 'local' })).toMatchObject(HOSTED_QUOTA_DEFAULTS);
    expect(loadConfig({})).toMatchObject({ QUOTA_CONCURRENT_RUNS: 0, QUOTA_RUNS_PER_MINUTE: 0, QUOTA_CPU_SECONDS_PER_DAY: 0, QUOTA_ROOMS: 0, QUOTA_STORAGE_MB: 0 });
    expect(loadConfig({ AUTH_MODE: 'local', QUOTA_ROOMS: '0' }).QUOTA_ROOMS).toBe(0);
    expect(loadConfig({ AUTH_MODE: 'local' }).ALLOW_SIGNUP).toBe(false);
    expect(loadConfig({ AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.test', OIDC_CLIENT_ID: 'x' }).ALLOW_SIGNUP).toBe(true);
  });

  it('main.ts exits with code 2 and names the variable on bad config', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: 'nope' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/PORT: .*"nope"/);
  });
});
