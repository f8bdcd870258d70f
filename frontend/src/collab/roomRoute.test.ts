import { describe, expect, it } from 'vitest';
import { newRoomPath, parseRoute, returnPath, roomPath, signInPath } from './roomRoute';

describe('parseRoute', () => {
  it('reads rooms, with or without a trailing slash', () => {
    expect(parseRoute('/r/abc_1-Z')).toEqual({ kind: 'room', roomId: 'abc_1-Z' });
    expect(parseRoute('/r/abc/')).toEqual({ kind: 'room', roomId: 'abc' });
  });
  it('treats / as home, with the language a new room is for (issue 10)', () => {
    expect(parseRoute('/')).toEqual({ kind: 'home', language: null });
    expect(parseRoute('/', '?language=golang')).toEqual({ kind: 'home', language: 'go' });
    expect(parseRoute('/', newRoomPath('cpp').slice(1))).toEqual({ kind: 'home', language: 'cpp' });
    expect(parseRoute('/', '?language=cobol')).toEqual({ kind: 'home', language: null });
    // Typed by hand: `+` is a plus here, not a space (C++, not C).
    expect(parseRoute('/', '?language=c++')).toEqual({ kind: 'home', language: 'cpp' });
    expect(parseRoute('/', '?x=1&language=c%2B%2B')).toEqual({ kind: 'home', language: 'cpp' });
    expect(parseRoute('/', '?language=%E0%A4%A')).toEqual({ kind: 'home', language: null });
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

describe('hosted-mode routes', () => {
  it('reads the sign-in, setup, sign-up, join and My rooms pages', () => {
    expect(parseRoute('/signin', '?returnTo=/r/x')).toEqual({ kind: 'signin' });
    expect(parseRoute('/setup', '?token=abc')).toEqual({ kind: 'setup', token: 'abc' });
    expect(parseRoute('/signup', '?invite=i1')).toEqual({ kind: 'signup', invite: 'i1' });
    expect(parseRoute('/signup')).toEqual({ kind: 'signup', invite: null });
    expect(parseRoute('/join/tok_1-2')).toEqual({ kind: 'join', token: 'tok_1-2' });
    expect(parseRoute('/rooms')).toEqual({ kind: 'rooms' });
  });
  it('returns only to paths of this site', () => {
    expect(returnPath(new URL(`http://x${signInPath('/r/a b')}`).search)).toBe('/r/a b');
    expect(returnPath('?returnTo=//evil.example')).toBe('/');
    expect(returnPath('?returnTo=https://evil.example')).toBe('/');
    expect(returnPath('')).toBe('/');
  });
});
