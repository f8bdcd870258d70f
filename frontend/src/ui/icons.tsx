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

export const PlusIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round">
    <path d="M8 3v10M3 8h10" />
  </svg>
);

export const PencilIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinejoin="round">
    <path d="M10.8 2.7l2.5 2.5-7.6 7.6-3.1.6.6-3.1z" />
  </svg>
);

export const TrashIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinecap="round" strokeLinejoin="round">
    <path d="M2.8 4.2h10.4M6.3 4.2V2.8h3.4v1.4M4.2 4.2l.7 9h6.2l.7-9" />
  </svg>
);

export const FolderIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinejoin="round">
    <path d="M1.8 4.2v8.6h12.4V5.6H7.6L6.2 4.2z" />
  </svg>
);

export const ChevronIcon = ({ open }: { readonly open: boolean }): ReactElement => (
  <svg {...base} width={12} height={12} fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" style={{ transform: open ? 'rotate(90deg)' : undefined, transition: 'transform 0.12s' }}>
    <path d="M6 3.5L10.5 8 6 12.5" />
  </svg>
);

export const LinkIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round">
    <path d="M6.6 9.4a2.6 2.6 0 0 0 3.7 0l2.3-2.3a2.6 2.6 0 0 0-3.7-3.7l-.8.8" />
    <path d="M9.4 6.6a2.6 2.6 0 0 0-3.7 0L3.4 8.9a2.6 2.6 0 0 0 3.7 3.7l.8-.8" />
  </svg>
);

export const EyeIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3">
    <path d="M1.5 8s2.4-4.5 6.5-4.5S14.5 8 14.5 8s-2.4 4.5-6.5 4.5S1.5 8 1.5 8z" />
    <circle cx="8" cy="8" r="1.9" />
  </svg>
);

export const TargetIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinecap="round">
    <circle cx="8" cy="8" r="4.6" />
    <path d="M8 1.4v2.4M8 12.2v2.4M1.4 8h2.4M12.2 8h2.4" />
  </svg>
);

export const EntryIcon = (): ReactElement => (
  <svg {...base} width={12} height={12} fill="currentColor">
    <path d="M4.5 2.8v10.4a.6.6 0 0 0 .9.5l8.3-5.2a.6.6 0 0 0 0-1L5.4 2.3a.6.6 0 0 0-.9.5z" />
  </svg>
);

export const HistoryIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinecap="round">
    <path d="M2.5 8a5.5 5.5 0 1 0 1.6-3.9" />
    <path d="M2.3 2.6v2.8h2.8M8 5v3.2l2 1.3" />
  </svg>
);

export const FolderPlusIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinejoin="round" strokeLinecap="round">
    <path d="M1.8 4.2h4.4l1.4 1.6h6.6v7.4H1.8z" />
    <path d="M8 7.6v3.6M6.2 9.4h3.6" />
  </svg>
);

export const UploadIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" strokeLinejoin="round">
    <path d="M8 10.5V2.5M4.8 5.6 8 2.5l3.2 3.1M2.5 10.5v3h11v-3" />
  </svg>
);

export const DownloadIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" strokeLinejoin="round">
    <path d="M8 2.5v8M4.8 7.4 8 10.5l3.2-3.1M2.5 10.5v3h11v-3" />
  </svg>
);

export const ZipIcon = (): ReactElement => (
  <svg {...base} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinejoin="round">
    <path d="M3.5 1.8h9v12.4h-9z" />
    <path d="M7 2v1.2h2V4.4H7v1.2h2v1.2H7v1.4h2v2H7z" />
  </svg>
);
