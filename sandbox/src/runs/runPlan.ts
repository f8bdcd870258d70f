/**
 * Turns a parsed `POST /run` body into a plan the sandbox can execute, or a
 * CodeCellError that says what to change. Every limit is checked against the
 * configuration here, before any VM is touched.
 * @module
 */
import { CodeCellError, RUNTIMES, defaultCompileLimits, formatBytes, ttySize } from '@codecell/protocol';
import type { RunRequest, RuntimeId, TerminalSize, WorkspaceFile } from '@codecell/protocol';
import type { SandboxConfig } from '../config.js';
import { vmMemoryMb } from '../config.js';
import type { VmShape } from '../vmm/VmmDriver.js';
import { planStages } from './stageCommands.js';
import type { PlannedStage } from './stageCommands.js';
import type { OutputFileCaps } from './OutputFiles.js';
import { onTerminal } from './terminalPlan.js';

export interface RunPlan {
  readonly language: RuntimeId;
  /** Compile (for compiled languages) then run, each with its own argv and limits. */
  readonly stages: readonly PlannedStage[];
  readonly shape: VmShape;
  /** Wall-clock limit of the run stage. */
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly outputBytes: number;
  readonly entry: string;
  readonly files: ReadonlyArray<{ path: string; content: Buffer }>;
  readonly stdin: Buffer;
  readonly stdinOpen: boolean;
  readonly sessionId: string | undefined;
  /** Delete other files in /workspace first (the request's `prune`). */
  readonly prune: boolean;
  /** Caps of the files that come back (OUTPUT_FILE_BYTES, OUTPUT_FILES_BYTES, OUTPUT_FILES). */
  readonly outputFiles: OutputFileCaps;
  /** The run stage's terminal size (a TTY run), or null for pipes. */
  readonly tty: TerminalSize | null;
  /** A terminal session (shell, REPL): it runs beside the session's runs, ended by idling rather than a run timeout. */
  readonly terminal: boolean;
  /** Ends the run after this long without input (terminal sessions), or null. */
  readonly idleTimeoutMs: number | null;
}

interface Cap {
  readonly name: string;
  readonly value: number | undefined;
  readonly def: number;
  readonly max: number;
  readonly envName: string;
  readonly unit?: string;
}

function cap(c: Cap): number {
  const v = c.value ?? c.def;
  const unit = c.unit ?? '';
  if (v > c.max) throw new CodeCellError('limit_exceeded', `limits.${c.name} is ${v}${unit}; the most allowed is ${c.max}${unit} (${c.envName})`);
  return v;
}

/** The VM shape that gives a program (or its compiler) `memoryMb` MiB: see {@link vmMemoryMb}. */
export function shapeFor(memoryMb: number, vcpus: number): VmShape {
  return { memMb: vmMemoryMb(memoryMb), vcpus };
}

/** What the host knows that shapes a plan: the acceleration decides the default compile timeout. */
export interface PlanContext {
  readonly acceleration: 'kvm' | 'tcg' | 'none';
}

/**
 * A request's files as bytes, checked: at most MAX_FILES and MAX_FILES_BYTES,
 * no path twice, no file where another needs a directory; `entry` is a path
 * taken already (the run's entry file, whose content is `source`).
 */
export function planFiles(files: readonly WorkspaceFile[], c: SandboxConfig, entry?: string): { path: string; content: Buffer }[] {
  if (files.length > c.MAX_FILES) {
    throw new CodeCellError('too_many_files', `${files.length} files sent; the limit is ${c.MAX_FILES} (MAX_FILES)`);
  }
  const seen = new Set<string>(entry === undefined ? [] : [entry]);
  let total = 0;
  const out: { path: string; content: Buffer }[] = [];
  for (const f of files) {
    if (seen.has(f.path)) {
      throw new CodeCellError('invalid_path', `file "${f.path}" is given twice${f.path === entry ? ' (it is also the entry file, whose content is `source`)' : ''}`);
    }
    // A file and a directory of the same name cannot both exist.
    for (const other of seen) {
      if (other.startsWith(`${f.path}/`) || f.path.startsWith(`${other}/`)) {
        throw new CodeCellError('invalid_path', `"${f.path}" and "${other}" cannot both exist: one is a directory of the other`);
      }
    }
    seen.add(f.path);
    // Checked by the schema: base64 content is valid base64, so this decodes every byte.
    const content = Buffer.from(f.content, f.encoding === 'base64' ? 'base64' : 'utf8');
    total += content.length;
    out.push({ path: f.path, content });
  }
  if (total > c.MAX_FILES_BYTES) {
    throw new CodeCellError('files_too_large', `files total ${formatBytes(total)}; the limit is ${formatBytes(c.MAX_FILES_BYTES)} (MAX_FILES_BYTES)`);
  }
  return out;
}

export function planRun(req: RunRequest, c: SandboxConfig, ctx: PlanContext = { acceleration: 'kvm' }): RunPlan {
  const sourceBytes = Buffer.byteLength(req.source, 'utf8');
  if (sourceBytes > c.MAX_SOURCE_BYTES) {
    throw new CodeCellError('source_too_large', `source is ${formatBytes(sourceBytes)}; the limit is ${formatBytes(c.MAX_SOURCE_BYTES)} (MAX_SOURCE_BYTES)`);
  }
  const entry = req.entry ?? RUNTIMES[req.language].entry;
  const out = [{ path: entry, content: Buffer.from(req.source, 'utf8') }, ...planFiles(req.files ?? [], c, entry)];
  const stdin = Buffer.from(req.stdin ?? '', 'utf8');
  if (stdin.length > c.MAX_STDIN_BYTES) {
    throw new CodeCellError('payload_too_large', `stdin is ${formatBytes(stdin.length)}; the limit is ${formatBytes(c.MAX_STDIN_BYTES)} (MAX_STDIN_BYTES)`);
  }
  const l = req.limits ?? {};
  const timeoutMs = cap({ name: 'timeoutMs', value: l.timeoutMs, def: c.RUN_TIMEOUT_MS, max: c.MAX_RUN_TIMEOUT_MS, envName: 'MAX_RUN_TIMEOUT_MS', unit: ' ms' });
  const memoryMb = cap({ name: 'memoryMb', value: l.memoryMb, def: c.DEFAULT_MEM_MB, max: c.MAX_MEM_MB, envName: 'MAX_MEM_MB', unit: ' MiB' });
  const vcpus = cap({ name: 'vcpus', value: l.vcpus, def: 1, max: c.MAX_VCPUS, envName: 'MAX_VCPUS' });
  const outputBytes = cap({ name: 'outputBytes', value: l.outputBytes, def: c.OUTPUT_BYTES, max: c.MAX_OUTPUT_BYTES, envName: 'MAX_OUTPUT_BYTES', unit: ' bytes' });
  const compileDefaults = defaultCompileLimits(req.language, ctx.acceleration);
  const compileTimeoutMs = cap({ name: 'compileTimeoutMs', value: l.compileTimeoutMs, def: Math.min(compileDefaults.compileTimeoutMs, c.MAX_RUN_TIMEOUT_MS), max: c.MAX_RUN_TIMEOUT_MS, envName: 'MAX_RUN_TIMEOUT_MS', unit: ' ms' });
  const compileMemoryMb = cap({ name: 'compileMemoryMb', value: l.compileMemoryMb, def: Math.min(compileDefaults.compileMemoryMb, c.MAX_MEM_MB), max: c.MAX_MEM_MB, envName: 'MAX_MEM_MB', unit: ' MiB' });
  const tty = ttySize(req.tty);
  const planned = planStages({
    runtime: req.language,
    entry,
    paths: out.map((f) => f.path),
    acceleration: ctx.acceleration,
    memoryMb,
    timeoutMs,
    compileMemoryMb,
    compileTimeoutMs,
    args: req.args ?? [],
  });
  const stages = tty === null ? planned : onTerminal(planned);
  return {
    language: req.language,
    stages,
    shape: shapeFor(Math.max(memoryMb, compileMemoryMb), vcpus),
    timeoutMs,
    memoryMb,
    outputBytes,
    entry,
    files: out,
    stdin,
    stdinOpen: req.stdinOpen ?? req.stdin === undefined,
    sessionId: req.sessionId,
    prune: req.prune ?? false,
    outputFiles: { maxFileBytes: c.OUTPUT_FILE_BYTES, maxRunBytes: c.OUTPUT_FILES_BYTES, maxFiles: c.OUTPUT_FILES },
    tty,
    terminal: false,
    idleTimeoutMs: null,
  };
}
