/**
 * A finished run judged as Judge0 judges it (`app/jobs/isolate_job.rb`; J4 in
 * gateway/SPEC.md): the status id (3 Accepted, 4 Wrong Answer against
 * `expected_output` compared without trailing blanks per line and at the end,
 * 5 Time Limit Exceeded, 6 Compilation Error, 7-12 signals and non-zero
 * exits, 13 Internal Error), isolate's message, time and wall time in seconds
 * (decimal strings), memory in KB, exact output bytes (null when empty).
 * @module
 */
import { Judge0Status, PISTON_SIGNALS } from '@codecell/protocol';
import type { Judge0StatusId } from '@codecell/protocol';
import type { RunOutcome, StageOutcome } from '../runOutcome.js';

/** The part of a submission a run produces. Output is base64 of the exact bytes. */
export interface Judge0Verdict {
  readonly status_id: Judge0StatusId;
  readonly stdout_b64: string | null;
  readonly stderr_b64: string | null;
  readonly compile_output_b64: string | null;
  readonly message: string | null;
  readonly time: string | null;
  readonly wall_time: string | null;
  readonly memory: number | null;
  readonly exit_code: number | null;
  readonly exit_signal: number | null;
}

/** What a verdict depends on besides the run. */
export interface JudgeCriteria {
  /** Seconds of CPU time allowed. */
  readonly cpuTimeLimit: number;
  readonly expectedOutput: Buffer | null;
  readonly redirectStderrToStdout: boolean;
}

/** Judge0's `strip`: every line without trailing blanks, and none at the end (bytes compared as Latin-1). */
export function judge0Strip(bytes: Buffer): string {
  return bytes.toString('latin1').split('\n').map((l) => l.replace(/[\s\0]+$/, '')).join('\n').replace(/[\s\0]+$/, '');
}

function signalNumber(name: string | null): number | null {
  if (name === null) return null;
  const i = (PISTON_SIGNALS as readonly string[]).indexOf(name);
  return i < 0 ? null : i + 1;
}

/** Judge0's runtime-error status for a signal (`Status.find_runtime_error_by_status_code`). */
export function statusOfSignal(signal: number | null): Judge0StatusId {
  switch (signal) {
    case 11:
      return Judge0Status.sigsegv;
    case 25:
      return Judge0Status.sigxfsz;
    case 8:
      return Judge0Status.sigfpe;
    case 6:
      return Judge0Status.sigabrt;
    default:
      return Judge0Status.otherRuntimeError;
  }
}

const b64 = (chunks: readonly Buffer[]): string | null => {
  const all = Buffer.concat(chunks);
  return all.length === 0 ? null : all.toString('base64');
};
const seconds = (ms: number | null): string | null => (ms === null ? null : (ms / 1000).toFixed(3));

function internal(message: string): Judge0Verdict {
  return { status_id: Judge0Status.internalError, stdout_b64: null, stderr_b64: null, compile_output_b64: null, message, time: null, wall_time: null, memory: null, exit_code: null, exit_signal: null };
}

function compileFailed(outcome: RunOutcome, compile: StageOutcome): Judge0Verdict {
  if (outcome.status !== 'compile_error' && outcome.status !== 'timeout' && outcome.status !== 'memory_limit' && outcome.status !== 'output_limit') {
    return internal(outcome.message ?? outcome.status);
  }
  // The compiler's stderr goes to compile_output with its stdout (isolate --stderr-to-stdout).
  const output = outcome.status === 'timeout' ? Buffer.from('Compilation time limit exceeded.').toString('base64') : b64(compile.output);
  return { ...internal(''), status_id: Judge0Status.compilationError, compile_output_b64: output, message: null };
}

function runStatus(outcome: RunOutcome, run: StageOutcome, c: JudgeCriteria): { status: Judge0StatusId; message: string | null } {
  const signal = signalNumber(run.signal);
  switch (outcome.status) {
    case 'timeout':
      return { status: Judge0Status.timeLimitExceeded, message: 'Time limit exceeded' };
    case 'memory_limit':
      return { status: Judge0Status.otherRuntimeError, message: 'Memory limit exceeded' };
    case 'output_limit':
      return { status: Judge0Status.sigxfsz, message: 'Output limit exceeded' };
    case 'runtime_error':
      if (signal !== null) return { status: statusOfSignal(signal), message: `Caught fatal signal ${signal}` };
      return { status: Judge0Status.nzec, message: `Exited with error status ${run.code ?? 1}` };
    case 'ok':
      break;
    default:
      return { status: Judge0Status.internalError, message: outcome.message ?? outcome.status };
  }
  // The VM measures CPU time rather than capping it: over the limit is what isolate's -t would have stopped.
  if (run.cpuMs !== null && run.cpuMs > c.cpuTimeLimit * 1000) return { status: Judge0Status.timeLimitExceeded, message: 'Time limit exceeded' };
  if (c.expectedOutput === null) return { status: Judge0Status.accepted, message: null };
  const same = judge0Strip(c.expectedOutput) === judge0Strip(Buffer.concat(c.redirectStderrToStdout ? run.output : run.stdout));
  return { status: same ? Judge0Status.accepted : Judge0Status.wrongAnswer, message: null };
}

/** The verdict of a finished run. */
export function judge0Verdict(outcome: RunOutcome, c: JudgeCriteria): Judge0Verdict {
  if (outcome.endedIn === null) return internal(outcome.message ?? outcome.status);
  if (outcome.endedIn === 'compile' && outcome.compile) return compileFailed(outcome, outcome.compile);
  const run = outcome.run;
  if (run === null) return internal(outcome.message ?? outcome.status);
  const { status, message } = runStatus(outcome, run, c);
  if (status === Judge0Status.internalError) return { ...internal(message ?? ''), time: seconds(run.cpuMs), wall_time: seconds(run.wallMs) };
  return {
    status_id: status,
    stdout_b64: b64(c.redirectStderrToStdout ? run.output : run.stdout),
    stderr_b64: c.redirectStderrToStdout ? null : b64(run.stderr),
    compile_output_b64: outcome.compile ? b64(outcome.compile.output) : null,
    message,
    time: seconds(run.cpuMs),
    wall_time: seconds(run.wallMs),
    memory: run.maxRssKb,
    exit_code: run.code ?? 0,
    exit_signal: signalNumber(run.signal),
  };
}
