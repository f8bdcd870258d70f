import { describe, expect, it } from 'vitest';
import { pickTheme } from './theme';

describe('pickTheme', () => {
  it('prefers the stored choice', () => {
    expect(pickTheme('light', true)).toBe('light');
    expect(pickTheme('dark', false)).toBe('dark');
  });
  it('falls back to the system preference', () => {
    expect(pickTheme(null, true)).toBe('dark');
    expect(pickTheme(null, false)).toBe('light');
    expect(pickTheme('purple', false)).toBe('light');
  });
});
