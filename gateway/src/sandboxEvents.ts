/**
 * Reading a streamed `POST /run` (or `/terminal`) answer of the sandbox: one
 * parsed RunEvent per NDJSON line. Leaving the stream early closes the
 * connection (the sandbox then kills the run), except after `exit`, when only
 * the stream's end is left: it is read so the connection serves the next run.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { CodeCellError, runEventSchema } from '@codecell/protocol';
import type { RunEvent } from '@codecell/protocol';

/** Largest NDJSON line accepted from the sandbox (its output cap is 16 MiB). */
export const MAX_EVENT_LINE_BYTES = 64 * 1024 * 1024;
/** How long the sandbox has to end a stream after its `exit` event, ms. */
const END_AFTER_EXIT_MS = 1_000;

/** What {@link readRunEvents} needs from its client. */
export interface RunEventsOptions {
  /** The sandbox's address, for error messages. */
  readonly address: string;
  /** The error for a connection that broke mid-stream. */
  readonly broken: (err: unknown) => Error;
  /** Answers whose `exit` was read are added here (stopping them no longer closes their connection). */
  readonly pastExit: WeakSet<IncomingMessage>;
}

/** The run's events, in order, until the answer ends. */
export async function* readRunEvents(res: IncomingMessage, o: RunEventsOptions): AsyncGenerator<RunEvent> {
  res.setEncoding('utf8');
  let buffered = '';
  let exited = false;
  try {
    // Not destroyed on leaving the loop: the finally below decides.
    for await (const chunk of res.iterator({ destroyOnReturn: false }) as AsyncIterable<string>) {
      buffered += chunk;
      if (buffered.length > MAX_EVENT_LINE_BYTES) {
        throw new CodeCellError('internal_error', `the sandbox sent an event line longer than ${MAX_EVENT_LINE_BYTES} bytes`);
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === '') continue;
        const event = parseLine(line, o.address);
        exited = event.type === 'exit';
        yield event;
      }
    }
    if (buffered.trim() !== '') yield parseLine(buffered, o.address);
  } catch (err) {
    if (err instanceof CodeCellError || isAbort(err)) throw err;
    throw o.broken(err);
  } finally {
    if (exited) {
      o.pastExit.add(res);
      awaitEnd(res);
    } else if (!res.complete) res.destroy();
  }
}

function parseLine(line: string, address: string): RunEvent {
  const parsed = runEventSchema.safeParse(safeJson(line));
  if (parsed.success) return parsed.data;
  throw new CodeCellError('internal_error', `the sandbox at ${address} sent an invalid run event: ${line.slice(0, 200)}`);
}

/** Lets an answer whose last event was read end by itself (so its connection is reused), or closes it after a while. */
function awaitEnd(res: IncomingMessage): void {
  if (res.complete) return;
  const timer = setTimeout(() => res.destroy(), END_AFTER_EXIT_MS);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
  res.resume();
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** An error's code and message, for error messages. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
