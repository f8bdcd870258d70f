/**
 * Output events merged before they are sent (HTTP NDJSON, the fleet's run log).
 * @module
 */
import type { RunEvent } from '@codecell/protocol';

type OutputEvent = Extract<RunEvent, { type: 'stdout' | 'stderr' }>;

/** The chunk's exact bytes: `bytesB64` when the program's output was not UTF-8, else its text. */
function bytesOf(e: OutputEvent): Buffer {
  return e.bytesB64 === undefined ? Buffer.from(e.data, 'utf8') : Buffer.from(e.bytesB64, 'base64');
}

/** Joins consecutive stdout (or stderr) events into one, keeping the exact bytes when either chunk carried them. */
export function mergeOutput(events: readonly RunEvent[]): RunEvent[] {
  const out: RunEvent[] = [];
  for (const ev of events) {
    const last = out[out.length - 1];
    if (last && (ev.type === 'stdout' || ev.type === 'stderr') && last.type === ev.type) {
      const exact = last.bytesB64 !== undefined || ev.bytesB64 !== undefined;
      const data = last.data + ev.data;
      out[out.length - 1] = exact ? { type: ev.type, data, bytesB64: Buffer.concat([bytesOf(last), bytesOf(ev)]).toString('base64') } : { type: ev.type, data };
    } else {
      out.push(ev);
    }
  }
  return out;
}
