import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_CODE_TABLE, CodeCellError, runEventSchema, runRequestSchema, workspacePathSchema } from './index.js';

describe('protocol', () => {
  it('maps every error code to an HTTP status, a tRPC code and a WebSocket close code', () => {
    for (const code of ERROR_CODES) {
      const m = ERROR_CODE_TABLE[code];
      expect(m.http).toBeGreaterThanOrEqual(400);
      expect(m.ws).toBeGreaterThanOrEqual(4000);
      expect(m.trpc).toMatch(/^[A-Z_]+$/);
    }
    expect(new CodeCellError('source_too_large', 'x').httpStatus).toBe(413);
  });

  it('accepts only paths that stay inside /workspace', () => {
    for (const ok of ['main.py', 'a/b/c.py', '.hidden', 'ünï.py', 'a..b']) expect(workspacePathSchema.safeParse(ok).success).toBe(true);
    for (const bad of ['', '/etc/passwd', '../x', 'a/../b', 'a//b', './a', 'a/', 'a\\b', 'a\0b', 'x'.repeat(256)]) {
      expect(workspacePathSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('parses the run request of the README and rejects unknown fields', () => {
    expect(runRequestSchema.parse({ language: 'py', source: 'print("hello")' }).language).toBe('py');
    expect(runRequestSchema.safeParse({ language: 'py', source: '', bogus: 1 }).success).toBe(false);
  });

  it('parses each run event', () => {
    for (const e of [
      { type: 'start', jobId: 'j', vmId: 'v', at: 1 },
      { type: 'stdout', data: 'x' },
      { type: 'stderr', data: 'y' },
      { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 2, maxRssKb: 3 },
      { type: 'error', code: 'vm_crashed', message: 'm' },
    ]) {
      expect(runEventSchema.parse(e)).toEqual(e);
    }
    expect(runEventSchema.safeParse({ type: 'exit', code: 0, signal: null, status: 'weird', cpuMs: 1, wallMs: 2, maxRssKb: 3 }).success).toBe(false);
  });
});
