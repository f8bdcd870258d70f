/**
 * The one lazy handle of {@link TerminalView}: every pane uses this one, so
 * once xterm.js has loaded a newly shown pane renders its screen at once
 * (a second `lazy()` would suspend again and show its fallback first).
 * @module
 */
import { lazy } from 'react';

export const LazyTerminalView = lazy(() => import('./TerminalView'));
