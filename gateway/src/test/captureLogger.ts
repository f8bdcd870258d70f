/**
 * A logger that records entries, for tests that check what was logged.
 * @module
 */
import type { Logger } from '@codecell/server-kit';

/** One recorded log line. */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly data: Record<string, unknown> | undefined;
}

/** Returns a logger and the array it records into. */
export function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const rec = (level: LogEntry['level']) => (msg: string, data?: Record<string, unknown>) => void entries.push({ level, msg, data });
  return { logger: { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') }, entries };
}
