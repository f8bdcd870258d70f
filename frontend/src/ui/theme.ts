/**
 * Light and dark theme: the user's choice is remembered in localStorage, the
 * default follows `prefers-color-scheme`. `public/theme-init.js` applies the
 * same rule before first paint so the page never flashes the wrong theme.
 * @module
 */
import { useCallback, useEffect, useState } from 'react';
import type { ThemeName } from '../editor/themes';

export type { ThemeName };

/** localStorage key of the user's explicit choice. */
export const THEME_KEY = 'codecell.theme';

/** The theme to use: the stored choice if valid, else the system preference. */
export function pickTheme(stored: string | null, prefersDark: boolean): ThemeName {
  if (stored === 'light' || stored === 'dark') return stored;
  return prefersDark ? 'dark' : 'light';
}

function readStored(): string | null {
  try {
    return localStorage.getItem(THEME_KEY);
  } catch {
    return null;
  }
}

const darkQuery = (): MediaQueryList => matchMedia('(prefers-color-scheme: dark)');

/** Current theme and a toggle; keeps `<html data-theme>` in sync. */
export function useTheme(): { theme: ThemeName; toggle: () => void } {
  const [theme, setTheme] = useState<ThemeName>(() => pickTheme(readStored(), darkQuery().matches));

  useEffect(() => {
    document.documentElement.dataset['theme'] = theme;
    document.documentElement.style.colorScheme = theme;
  }, [theme]);

  // Follow the system while the user has not chosen.
  useEffect(() => {
    const query = darkQuery();
    const onChange = (): void => {
      if (readStored() === null) setTheme(query.matches ? 'dark' : 'light');
    };
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);

  const toggle = useCallback(() => {
    setTheme((t) => {
      const next = t === 'dark' ? 'light' : 'dark';
      try {
        localStorage.setItem(THEME_KEY, next);
      } catch {
        // Not remembered, still switched.
      }
      return next;
    });
  }, []);

  return { theme, toggle };
}
