/**
 * Output events merged before they are sent (HTTP NDJSON, the fleet's run log).
 * @module
 */
import type { RunEvent } from '@codecell/protocol';

/** Joins consecutive stdout (or stderr) events into one. */
export function mergeOutput(events: readonly RunEvent[]): RunEvent[] {
  const out: RunEvent[] = [];
  for (const ev of events) {
    const last = out[out.length - 1];
    if (last && (ev.type === 'stdout' || ev.type === 'stderr') && last.type === ev.type) {
      out[out.length - 1] = { type: ev.type, data: last.data + ev.data };
    } else {
      out.push(ev);
    }
  }
  return out;
}
