/**
 * A finished run as Piston's `execute` answers it (P4 in gateway/SPEC.md):
 * per stage stdout, stderr, output, code, signal, message, status letter
 * (`RE`, `SG`, `TO`, `OL`, `EL`, `XX`, null for a clean exit), cpu_time and
 * wall_time in ms, memory in bytes; a failed compile copied into `run`.
 * @module
 */
import { PISTON_SIGNALS } from '@codecell/protocol';
import type { PistonExecuteResponse, PistonStageResult, PistonStatus } from '@codecell/protocol';
import type { RunOutcome, StageOutcome } from '../runOutcome.js';
import type { PistonJob } from './pistonRequest.js';

interface Ending {
  readonly status: PistonStatus | null;
  readonly message: string | null;
  /** Replaces the stage's own signal (Piston reports SIGKILL for TO, OL and EL). */
  readonly signal?: string;
}

function signalNumber(name: string): number | string {
  const i = (PISTON_SIGNALS as readonly string[]).indexOf(name);
  return i < 0 ? name : i + 1;
}

/** How the stage the run ended in ended, in Piston's terms (isolate's messages). */
export function pistonEnding(outcome: RunOutcome, stage: StageOutcome): Ending {
  switch (outcome.status) {
    case 'ok':
      return { status: null, message: null };
    case 'runtime_error':
    case 'compile_error':
      if (stage.signal !== null) return { status: 'SG', message: `Caught fatal signal ${signalNumber(stage.signal)}` };
      return { status: 'RE', message: `Exited with error status ${stage.code ?? outcome.code ?? 1}` };
    case 'timeout':
      return { status: 'TO', message: 'Time limit exceeded (wall clock)', signal: 'SIGKILL' };
    case 'output_limit':
      return stage.lastStream === 'stderr'
        ? { status: 'EL', message: 'stderr length exceeded', signal: 'SIGKILL' }
        : { status: 'OL', message: 'stdout length exceeded', signal: 'SIGKILL' };
    case 'memory_limit':
      return { status: 'SG', message: 'Memory limit exceeded', signal: 'SIGKILL' };
    case 'killed':
      return { status: 'SG', message: outcome.message ?? 'Killed', signal: 'SIGKILL' };
    default:
      return { status: 'XX', message: outcome.message ?? outcome.status };
  }
}

const text = (chunks: readonly Buffer[]): string => Buffer.concat(chunks).toString('utf8');

function stageResult(stage: StageOutcome, ending: Ending, cpuLimitMs: number | null): PistonStageResult {
  let { status, message } = ending;
  let signal = ending.signal ?? stage.signal;
  // CPU time is measured, not capped, by the VM: a stage over its limit is reported as isolate would have ended it.
  if (cpuLimitMs !== null && stage.cpuMs !== null && stage.cpuMs > cpuLimitMs && status !== 'XX') {
    status = 'TO';
    message = 'Time limit exceeded';
    signal = 'SIGKILL';
  }
  return {
    stdout: text(stage.stdout),
    stderr: text(stage.stderr),
    output: text(stage.output),
    code: status === 'TO' || status === 'OL' || status === 'EL' ? null : stage.code,
    signal,
    message,
    status,
    cpu_time: stage.cpuMs,
    wall_time: stage.wallMs,
    memory: stage.maxRssKb === null ? null : stage.maxRssKb * 1024,
  };
}

function empty(): StageOutcome {
  return { stdout: [], stderr: [], output: [], code: null, signal: null, cpuMs: null, wallMs: null, maxRssKb: null, lastStream: null };
}

/** The `execute` answer of a run that started. */
export function pistonResponse(job: PistonJob, outcome: RunOutcome): PistonExecuteResponse {
  const clean: Ending = { status: null, message: null };
  const compiled = outcome.compile !== null;
  const endedInCompile = outcome.endedIn === 'compile';
  const compile = compiled && outcome.compile
    ? stageResult(outcome.compile, endedInCompile ? pistonEnding(outcome, outcome.compile) : clean, job.cpuTimeMs.compile)
    : undefined;
  // Piston copies a compile that stopped the run into `run` (v2.js, "backward compatibility").
  const run = endedInCompile && compile ? compile : stageResult(outcome.run ?? empty(), pistonEnding(outcome, outcome.run ?? empty()), job.cpuTimeMs.run);
  return { language: job.language, version: job.version, run, ...(compile ? { compile } : {}) };
}
