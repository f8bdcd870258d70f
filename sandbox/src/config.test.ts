import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

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
});
