/** Small inline SVG icons (no icon font, nothing fetched). */
import type { ReactElement } from 'react';

const base = { width: 16, height: 16, viewBox: '0 0 16 16', 'aria-hidden': true } as const;

export const PlayIcon = (): ReactElement => (
  <svg {...base} fill="currentColor">
    <path d="M4.5 2.8v10.4a.6.6 0 0 0 .9.5l8.3-5.2a.6.6 0 0 0 0-1L5.4 2.3a.6.6 0 0 0-.9.5z" />
  </svg>
);

export const StopIcon = (): ReactElement => (
  <svg {...base} fill="currentColor">
    <rect x="3.5" y="3.5" width="9" height="9" rx="1.5" />
  </svg>
);

export const SunIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round">
    <circle cx="8" cy="8" r="3" />
    <path d="M8 1v1.5M8 13.5V15M1 8h1.5M13.5 8H15M3 3l1 1M12 12l1 1M3 13l1-1M12 4l1-1" />
  </svg>
);

export const MoonIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round">
    <path d="M13.5 10.2A5.8 5.8 0 0 1 5.8 2.5a5.8 5.8 0 1 0 7.7 7.7z" />
  </svg>
);

export const FileIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinejoin="round">
    <path d="M4 1.8h5l3 3v9.4H4z" />
    <path d="M9 1.8v3h3" />
  </svg>
);

export const LogoMark = (): ReactElement => (
  <svg width="22" height="22" viewBox="0 0 32 32" aria-hidden="true">
    <rect width="32" height="32" rx="7" fill="var(--accent)" />
    <path d="M13 10l-6 6 6 6" fill="none" stroke="#fff" strokeWidth="3" strokeLinecap="round" strokeLinejoin="round" />
    <path d="M18 11l6 5-6 5z" fill="#4ade80" />
  </svg>
);
