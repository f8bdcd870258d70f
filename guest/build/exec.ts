/**
 * Small helpers to run host tools during the guest build.
 * @module
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  readonly cwd?: string;
  readonly input?: Buffer;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
  /** Resolve with stdout even when the command exits non-zero. */
  readonly ignoreExitCode?: boolean;
}

/** Runs a command and resolves with its stdout; rejects with its stderr tail on failure. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      signal: opts.signal,
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new Error(`${cmd} could not start: ${e.message}`, { cause: e })));
    child.on('close', (code, sig) => {
      if (code === 0 || opts.ignoreExitCode) return resolve(Buffer.concat(out));
      const tail = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-8).join('\n');
      reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? sig}):\n${tail}`));
    });
    if (opts.input && child.stdin) {
      // A tool may stop reading early (e.g. a decompressor at the end of its stream).
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

const STARTED = performance.now();

/** Prints one progress line for the build, with the seconds since the build started. */
export function progress(step: string, detail = ''): void {
  const s = ((performance.now() - STARTED) / 1000).toFixed(1);
  process.stderr.write(`[guest-image +${s}s] ${step}${detail ? `: ${detail}` : ''}\n`);
}
