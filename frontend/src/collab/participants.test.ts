import { describe, expect, it } from 'vitest';
import { cssString, cursorCss } from './cursorStyles';
import { initials, participantsFrom, sameParticipants } from './participants';

describe('participantsFrom', () => {
  const states = new Map<number, unknown>([
    [3, { user: { name: 'Zed', color: '#123456' }, activeFile: 'a.py', cursor: { line: 2, column: 5 } }],
    [1, { user: { name: 'Ada', color: 'red' }, activeFile: null }],
    [2, { user: { name: 'Me', color: '#30a46c' } }],
    [4, { user: { name: 'Bad', color: 'url(x)' } }],
    [5, {}],
    [6, { user: { name: 'NoFile', color: '#fff' }, activeFile: '../x' }],
  ]);
  it('keeps valid states with a user, you first then by name', () => {
    const ps = participantsFrom(states, 2);
    expect(ps.map((p) => p.name)).toEqual(['Me', 'Ada', 'Zed']);
    expect(ps[0]!.isSelf).toBe(true);
    expect(ps[2]).toMatchObject({ clientId: 3, activeFile: 'a.py', cursor: { line: 2, column: 5 }, selections: [] });
  });
  it('compares lists by what the people list shows', () => {
    const a = participantsFrom(states, 2);
    expect(sameParticipants(a, participantsFrom(states, 2))).toBe(true);
    const moved = new Map(states).set(3, { user: { name: 'Zed', color: '#123456' }, activeFile: 'b.py' });
    expect(sameParticipants(a, participantsFrom(moved, 2))).toBe(false);
  });
  it('makes initials', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('swift otter fox')).toBe('SF');
    expect(initials('ada')).toBe('A');
    expect(initials(' ')).toBe('?');
  });
});

describe('cursorCss', () => {
  it('colours selections and labels heads with the name', () => {
    const css = cursorCss([{ clientId: 7, name: 'Ada', color: '#30a46c' }]);
    expect(css).toContain('.yRemoteSelection-7{background-color:color-mix(in srgb,#30a46c 28%,transparent);}');
    expect(css).toContain('.yRemoteSelectionHead-7::after{content:"Ada";background-color:#30a46c;}');
  });
  it('escapes names and refuses unsafe colours', () => {
    const css = cursorCss([{ clientId: 1, name: 'a"}</style>\\\n', color: 'red;}*{x:y' }]);
    expect(css).not.toContain('red;');
    expect(css).toContain('#888888');
    expect(cssString('a"}</style>\\\n')).toBe('"a\\"}\\3c /style\\3e \\\\\\a "');
  });
});
