/**
 * How a run ended, read from its events as they pass: the `exit` event's
 * status (with the last error's message, or the signal), or, for a run that
 * failed before it started, its error code. The gateway's in-process backend
 * and the sandbox hosts of a fleet both end runs this way.
 * @module
 */
import type { RunEvent } from './sandboxApi.js';

/** How a run ended (the fields of the stream's `end` message) and what its exit reported. */
export interface RunEndInfo {
  readonly status: string;
  readonly code: number | null;
  readonly message: string | null;
  readonly cpuMs: number | null;
  readonly wallMs: number | null;
}

/** Follows one run's events. */
export class RunEndTracker {
  readonly #terminal: boolean;
  #started = false;
  #lastError: Extract<RunEvent, { type: 'error' }> | null = null;
  #end: RunEndInfo | null = null;

  /** `terminal`: the events are a terminal session's, whose `timeout` is its idle timeout. */
  constructor(o: { readonly terminal?: boolean } = {}) {
    this.#terminal = o.terminal ?? false;
  }

  /** True once the `start` event passed. */
  get started(): boolean {
    return this.#started;
  }

  /** Looks at the next event; returns the end once `exit` passed. */
  observe(event: RunEvent): RunEndInfo | null {
    if (event.type === 'start') this.#started = true;
    if (event.type === 'error') this.#lastError = event;
    if (event.type === 'exit' && this.#end === null) {
      const idle = event.status === 'timeout' && this.#terminal ? 'ended after its idle timeout (no input)' : null;
      const message = this.#lastError?.message ?? (event.signal ? `ended by ${event.signal}` : idle);
      this.#end = { status: event.status, code: event.code, message, cpuMs: event.cpuMs, wallMs: event.wallMs };
    }
    return this.#end;
  }

  /**
   * The end once the events stopped: the exit's, else (a run that failed
   * before it started) its error's; null when the stream broke off mid-run.
   */
  afterStream(): RunEndInfo | null {
    if (this.#end) return this.#end;
    if (!this.#started && this.#lastError) return { status: this.#lastError.code, code: null, message: this.#lastError.message, cpuMs: null, wallMs: null };
    return null;
  }
}
