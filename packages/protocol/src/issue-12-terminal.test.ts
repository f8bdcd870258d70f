/**
 * Issue 12: the wire shapes of TTY runs and terminal sessions.
 */
import { describe, expect, it } from 'vitest';
import { runCodeInputSchema } from './gatewayApi.js';
import { runEventSchema, runRequestSchema } from './sandboxApi.js';
import { DEFAULT_TERMINAL_SIZE, MAX_TERMINAL_SIZE, resizeRequestSchema, ttySize } from './terminal.js';
import { terminalRequestSchema } from './terminalRequest.js';

describe('issue 12: terminal shapes', () => {
  it('tty is true (80 x 24), a size, or false / absent (pipes)', () => {
    expect(ttySize(runRequestSchema.parse({ language: 'py', source: '', tty: true }).tty)).toEqual(DEFAULT_TERMINAL_SIZE);
    expect(ttySize(runRequestSchema.parse({ language: 'py', source: '', tty: { cols: 120, rows: 40 } }).tty)).toEqual({ cols: 120, rows: 40 });
    expect(ttySize(runRequestSchema.parse({ language: 'py', source: '', tty: false }).tty)).toBeNull();
    expect(ttySize(runRequestSchema.parse({ language: 'py', source: '' }).tty)).toBeNull();
    expect(runCodeInputSchema.parse({ source: 'x', tty: { cols: 90, rows: 20 } }).tty).toEqual({ cols: 90, rows: 20 });
  });

  it('refuses sizes out of range, with a message naming the field', () => {
    const bad = resizeRequestSchema.safeParse({ cols: 0, rows: 24 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/cols must be at least 1/);
    expect(resizeRequestSchema.safeParse({ cols: 80, rows: MAX_TERMINAL_SIZE + 1 }).error?.issues[0]?.message).toMatch(/rows must be at most/);
    expect(resizeRequestSchema.safeParse({ cols: 80.5, rows: 24 }).success).toBe(false);
    expect(resizeRequestSchema.safeParse({ cols: 80, rows: 24, extra: 1 }).success).toBe(false);
  });

  it('a terminal session names its program and session', () => {
    expect(terminalRequestSchema.parse({ sessionId: 'room-1', program: 'bash' })).toEqual({ sessionId: 'room-1', program: 'bash' });
    expect(terminalRequestSchema.safeParse({ sessionId: 'room-1', program: 'zsh' }).success).toBe(false);
    expect(terminalRequestSchema.safeParse({ sessionId: '../x', program: 'bash' }).success).toBe(false);
  });

  it('size is a run event', () => {
    expect(runEventSchema.parse({ type: 'size', cols: 80, rows: 24 })).toEqual({ type: 'size', cols: 80, rows: 24 });
  });
});
