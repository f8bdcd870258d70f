import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has sensible defaults', () => {
    const c = loadConfig({});
    expect(c.SANDBOX_PORT).toBe(5000);
    expect(c.RUN_TIMEOUT_MS).toBe(5000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ RUN_TIMEOUT_MS: 'soon' })).toThrow(/RUN_TIMEOUT_MS/);
    expect(() => loadConfig({ SANDBOX_PORT: '70000' })).toThrow(/SANDBOX_PORT/);
    expect(() => loadConfig({ RUN_TIMEOUT_MS: '90000' })).toThrow(/RUN_TIMEOUT_MS is larger than MAX_RUN_TIMEOUT_MS/);
    expect(() => loadConfig({ SANDBOX_DRIVER: 'firecracker' })).toThrow(/FIRECRACKER_BIN/);
  });

  it('documents every variable in .env.example', () => {
    const example = readFileSync(fileURLToPath(new URL('../.env.example', import.meta.url)), 'utf8');
    expect(CONFIG_VARIABLES.filter((v) => !new RegExp(`^#? ?${v}=`, 'm').test(example))).toEqual([]);
  });
});

describe('loadConfig: issue 14 fleet mode', () => {
  it('takes REDIS_URL as redis://, rediss:// or unix:/path and says what else it could be', () => {
    expect(loadConfig({}).REDIS_URL).toBeUndefined();
    expect(loadConfig({ REDIS_URL: 'redis://10.0.0.5:6379/2' }).REDIS_URL).toBe('redis://10.0.0.5:6379/2');
    expect(loadConfig({ REDIS_URL: 'unix:/run/redis/redis.sock' }).REDIS_URL).toBe('unix:/run/redis/redis.sock');
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL: expected redis:\/\/, rediss:\/\/ or unix:/);
    expect(() => loadConfig({ REDIS_URL: 'unix:relative.sock' })).toThrow(/REDIS_URL: .*unix:\/absolute\/path/);
    expect(() => loadConfig({ SANDBOX_HOST_ID: 'a b' })).toThrow(/SANDBOX_HOST_ID/);
    expect(loadConfig({}).REDIS_PREFIX).toBe('codecell');
  });
});

describe('loadConfig: issue 9 limits', () => {
  it('defaults MAX_GUEST_MEMORY_MB to half the host and MAX_SESSIONS to what that holds, at most 32', () => {
    const big = loadConfig({}, { totalMemMb: 64 * 1024 });
    expect(big.MAX_GUEST_MEMORY_MB).toBe(32 * 1024);
    expect(big.MAX_SESSIONS).toBe(32);
    // 4 GiB host: 2048 MiB of guest memory, 448 MiB per default VM (the 256 MiB a compiler gets + 192) = 4,
    // minus the 2 pooled VMs and the template.
    const small = loadConfig({}, { totalMemMb: 4096 });
    expect(small.MAX_GUEST_MEMORY_MB).toBe(2048);
    expect(small.MAX_SESSIONS).toBe(1);
    const medium = loadConfig({}, { totalMemMb: 8192 });
    expect(medium.MAX_SESSIONS).toBe(6); // 4096 / 448 = 9, minus 3
    // A tiny host still starts, with room for one VM of the largest shape.
    const tiny = loadConfig({}, { totalMemMb: 512 });
    expect(tiny.MAX_GUEST_MEMORY_MB).toBe(512 + 192);
    expect(tiny.MAX_SESSIONS).toBe(1);
    expect(loadConfig({ MAX_SESSIONS: '5', MAX_GUEST_MEMORY_MB: '4096' }, { totalMemMb: 1024 })).toMatchObject({ MAX_SESSIONS: 5, MAX_GUEST_MEMORY_MB: 4096 });
  });

  it('refuses a MAX_GUEST_MEMORY_MB that cannot hold one VM of MAX_MEM_MB, and bad new variables', () => {
    expect(() => loadConfig({ MAX_GUEST_MEMORY_MB: '500' })).toThrow(/MAX_GUEST_MEMORY_MB \(500\) cannot hold one VM of MAX_MEM_MB/);
    expect(() => loadConfig({ MAX_SESSIONS: '0' })).toThrow(/MAX_SESSIONS/);
    expect(() => loadConfig({ SANDBOX_SOCKET: 'relative.sock' })).toThrow(/SANDBOX_SOCKET/);
    expect(() => loadConfig({ SANDBOX_ALLOWED_HOSTS: 'ok.test, bad host' })).toThrow(/SANDBOX_ALLOWED_HOSTS/);
    expect(loadConfig({ SANDBOX_ALLOWED_HOSTS: 'Sandbox.Internal, 10.0.0.5' }).SANDBOX_ALLOWED_HOSTS).toEqual(['sandbox.internal', '10.0.0.5']);
  });
});
