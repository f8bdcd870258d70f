import { describe, expect, it } from 'vitest';
import { parseRoute, roomPath } from './roomRoute';

describe('parseRoute', () => {
  it('reads rooms, with or without a trailing slash', () => {
    expect(parseRoute('/r/abc_1-Z')).toEqual({ kind: 'room', roomId: 'abc_1-Z' });
    expect(parseRoute('/r/abc/')).toEqual({ kind: 'room', roomId: 'abc' });
  });
  it('treats / as home', () => {
    expect(parseRoute('/')).toEqual({ kind: 'home' });
  });
  it('refuses ids that are not roomIds and other paths', () => {
    expect(parseRoute('/r/a%20b').kind).toBe('notFound');
    expect(parseRoute(`/r/${'x'.repeat(65)}`).kind).toBe('notFound');
    expect(parseRoute('/r/').kind).toBe('notFound');
    expect(parseRoute('/r/%E0%A4%A').kind).toBe('notFound');
    expect(parseRoute('/settings').kind).toBe('notFound');
  });
  it('round-trips roomPath', () => {
    expect(parseRoute(roomPath('q9_x'))).toEqual({ kind: 'room', roomId: 'q9_x' });
  });
});
