/**
 * What the compatible APIs need of a finished run: per stage (compile, run)
 * its exact output bytes (stdout, stderr and both interleaved), exit code,
 * signal, CPU and wall time and peak memory; which stage it ended in; and how
 * it ended (the `end` status, S4). Built from the run's stream messages, so
 * it works on RunManager's public `subscribe` alone.
 * @module
 */
import type { RunEvent, StageName, StreamMessage } from '@codecell/protocol';

/** One stage of a run. Numbers are null when the stage never reported them. */
export interface StageOutcome {
  readonly stdout: Buffer[];
  readonly stderr: Buffer[];
  /** stdout and stderr chunks in the order they came. */
  readonly output: Buffer[];
  code: number | null;
  signal: string | null;
  cpuMs: number | null;
  wallMs: number | null;
  maxRssKb: number | null;
  /** The stream written last (which one an output limit cut). */
  lastStream: 'stdout' | 'stderr' | null;
}

/** A finished run, as the compatible APIs see it. */
export interface RunOutcome {
  /** Present when the run had a compile stage. */
  readonly compile: StageOutcome | null;
  /** Present when the run stage started (always for interpreted languages that started at all). */
  readonly run: StageOutcome | null;
  /** The stage the run ended in; null when it never started. */
  readonly endedIn: StageName | null;
  /** The `end` status: an exit status (`ok`, `timeout`…) or an error code (`sandbox_unavailable`…). */
  readonly status: string;
  /** The exit code from `end` (the last stage's). */
  readonly code: number | null;
  /** Why it ended, when there is more to say (an error's message, a signal). */
  readonly message: string | null;
}

function newStage(): StageOutcome {
  return { stdout: [], stderr: [], output: [], code: null, signal: null, cpuMs: null, wallMs: null, maxRssKb: null, lastStream: null };
}

/** The bytes a stdout/stderr event stands for. */
export function eventBytes(ev: Extract<RunEvent, { type: 'stdout' | 'stderr' }>): Buffer {
  return ev.bytesB64 === undefined ? Buffer.from(ev.data, 'utf8') : Buffer.from(ev.bytesB64, 'base64');
}

/** Folds stream messages into a {@link RunOutcome}; `finish()` once `end` came. */
export class RunOutcomeBuilder {
  #compile: StageOutcome | null = null;
  #run: StageOutcome | null = null;
  #current: StageName | null = null;
  #started = false;
  #end: Extract<StreamMessage, { type: 'end' }> | null = null;

  /** Takes one message; returns true when it was `end`. */
  add(msg: StreamMessage): boolean {
    if (msg.type === 'end') {
      this.#end = msg;
      return true;
    }
    if (msg.type === 'event') this.#event(msg.event);
    return false;
  }

  get ended(): boolean {
    return this.#end !== null;
  }

  #stage(name: StageName): StageOutcome {
    if (name === 'compile') return (this.#compile ??= newStage());
    return (this.#run ??= newStage());
  }

  #event(ev: RunEvent): void {
    switch (ev.type) {
      case 'start':
        this.#started = true;
        return;
      case 'stage':
        this.#current = ev.name;
        this.#stage(ev.name);
        return;
      case 'stdout':
      case 'stderr': {
        // Runtimes without stages (and sandboxes from before them) only run.
        const stage = this.#stage((this.#current ??= 'run'));
        const bytes = eventBytes(ev);
        stage[ev.type].push(bytes);
        stage.output.push(bytes);
        stage.lastStream = ev.type;
        return;
      }
      case 'exit': {
        if (ev.compile) Object.assign(this.#stage('compile'), ev.compile);
        const stage = this.#stage((this.#current ??= 'run'));
        Object.assign(stage, { code: ev.code, signal: ev.signal, cpuMs: ev.cpuMs, wallMs: ev.wallMs, maxRssKb: ev.maxRssKb });
        return;
      }
      case 'diagnostics':
      case 'error':
      case 'file': // files the program wrote: neither Piston nor Judge0 returns them
      case 'size': // a terminal's size (issue 12): their runs have no terminal
        return;
    }
  }

  /** The outcome; call after `end` arrived. */
  finish(): RunOutcome {
    const end = this.#end ?? { status: 'internal_error', code: null, message: 'the run ended without an end message' };
    return {
      compile: this.#compile,
      run: this.#run,
      endedIn: this.#started || this.#current !== null ? (this.#current ?? 'run') : null,
      status: end.status,
      code: end.code,
      message: end.message,
    };
  }
}
