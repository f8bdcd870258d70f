/**
 * One Firecracker process and everything it owns on the host: its directory, log file,
 * sockets, API client and (with the jailer) chroot. Internal to the Firecracker driver.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, link, open, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CodeCellError } from '@codecell/protocol';
import type { VmExit } from '../VmmDriver.js';
import { FirecrackerApi } from './FirecrackerApi.js';

/** File names inside a VM's root (Firecracker's cwd), kept short and relative (vmm.md section 3). */
export const API_SOCKET_NAME = 'api.sock';
export const VSOCK_UDS_NAME = 'v.sock';
export const LOG_FILE_NAME = 'firecracker.log';
const LOG_TAIL_BYTES = 4096;
const LOG_TAIL_LINES = 25;
/** sun_path is 108 bytes including the terminating NUL. */
const UNIX_PATH_MAX_BYTES = 107;
/** Firecracker's documented exit codes (`src/vmm/src/lib.rs`). */
const EXIT_CODE_MEANINGS: Readonly<Record<number, string>> = {
  148: 'seccomp violation',
  152: 'bad configuration',
  153: 'bad command-line arguments',
};

/** Run Firecracker through the jailer (vmm.md section 5). Requires root. */
export interface JailerOptions {
  readonly jailerBin: string;
  readonly uid: number;
  readonly gid: number;
  /** The jailer creates `<chrootBaseDir>/<firecracker file name>/<id>/root`. */
  readonly chrootBaseDir: string;
}

/** Options of {@link FirecrackerProcess.spawn}. */
export interface SpawnFirecrackerOptions {
  /** `[A-Za-z0-9-]`, 1-64 characters. */
  readonly id: string;
  readonly firecrackerBin: string;
  /** An empty directory this process owns (log file; Firecracker's cwd without the jailer). */
  readonly vmDir: string;
  readonly jailer?: JailerOptions;
}

/** A spawned Firecracker. {@link FirecrackerProcess.destroy} kills it and removes its files. */
export class FirecrackerProcess {
  readonly id: string;
  readonly vmDir: string;
  /** Host path of Firecracker's cwd: relative paths given to it resolve here. */
  readonly rootDir: string;
  readonly apiSocketPath: string;
  readonly vsockPath: string;
  readonly logPath: string;
  readonly api: FirecrackerApi;
  readonly pid: number | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<VmExit>;
  /** Aborted as soon as the process exits, so pending steps stop waiting for it. */
  readonly exitSignal: AbortSignal;
  readonly #child: ChildProcess;
  readonly #jailed: boolean;
  readonly #chrootDir: string | undefined;
  readonly #cgroupDir: string | undefined;
  #exit: VmExit | undefined;
  #spawnError: Error | undefined;
  #destroying: Promise<void> | undefined;

  private constructor(opts: SpawnFirecrackerOptions, child: ChildProcess) {
    const execName = basename(opts.firecrackerBin);
    this.id = opts.id;
    this.vmDir = opts.vmDir;
    this.#chrootDir = opts.jailer ? join(opts.jailer.chrootBaseDir, execName, opts.id) : undefined;
    this.#cgroupDir = opts.jailer ? join('/sys/fs/cgroup', execName, opts.id) : undefined;
    this.rootDir = this.#chrootDir ? join(this.#chrootDir, 'root') : opts.vmDir;
    this.apiSocketPath = join(this.rootDir, API_SOCKET_NAME);
    this.vsockPath = join(this.rootDir, VSOCK_UDS_NAME);
    this.logPath = join(opts.vmDir, LOG_FILE_NAME);
    this.api = new FirecrackerApi({ socketPath: this.apiSocketPath });
    this.#jailed = opts.jailer !== undefined;
    this.#child = child;
    this.pid = child.pid;
    const exitController = new AbortController();
    this.exitSignal = exitController.signal;
    this.exited = new Promise<VmExit>((resolveExit) => {
      const onExit = (exit: VmExit): void => {
        this.#exit = exit;
        exitController.abort(new CodeCellError('vm_crashed', `Firecracker ${this.describeExit()}`));
        resolveExit(exit);
      };
      child.once('exit', (code, signal) => onExit({ code, signal }));
      // 'error' also reports failed kill()s; only a failed spawn means there is no process.
      child.on('error', (err) => {
        if (child.pid !== undefined || this.#exit) return;
        this.#spawnError = err;
        onExit({ code: null, signal: null });
      });
    });
  }

  /**
   * Spawns `firecracker --api-sock <root>/api.sock --id <id>` (or the jailer around it)
   * with the VM directory as cwd and its stdout/stderr (serial console, VMM log) appended
   * to the VM's log file. Does not wait for the API socket.
   */
  static async spawn(opts: SpawnFirecrackerOptions): Promise<FirecrackerProcess> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(opts.id)) {
      throw new CodeCellError('internal_error', `invalid Firecracker id ${JSON.stringify(opts.id)}`);
    }
    const { jailer } = opts;
    // A bare name is looked up in PATH; any other path is made absolute (our cwd is not Firecracker's).
    const fcBin = commandPath(opts.firecrackerBin);
    if (jailer && !fcBin.startsWith('/')) {
      throw new CodeCellError('vm_boot_failed', `the jailer needs a path to firecracker, not '${fcBin}'`);
    }
    const chrootRoot = jailer ? join(jailer.chrootBaseDir, basename(fcBin), opts.id, 'root') : undefined;
    const rootDir = chrootRoot ?? opts.vmDir;
    for (const name of [API_SOCKET_NAME, VSOCK_UDS_NAME]) {
      const path = join(rootDir, name);
      if (Buffer.byteLength(path) > UNIX_PATH_MAX_BYTES) {
        throw new CodeCellError(
          'vm_boot_failed',
          `socket path ${path} is too long for a Unix socket: use a shorter workDir or chrootBaseDir`,
        );
      }
    }
    if (chrootRoot) await rm(join(chrootRoot, '..'), { recursive: true, force: true });
    // Firecracker cannot bind a path that exists.
    await Promise.all(
      [API_SOCKET_NAME, VSOCK_UDS_NAME].map((name) => rm(join(rootDir, name), { force: true })),
    );
    const [command, args] = jailer
      ? [
          commandPath(jailer.jailerBin),
          [
            '--id',
            opts.id,
            '--exec-file',
            fcBin,
            '--uid',
            String(jailer.uid),
            '--gid',
            String(jailer.gid),
          ].concat([
            '--chroot-base-dir',
            jailer.chrootBaseDir,
            '--cgroup-version',
            '2',
            '--',
            '--api-sock',
            API_SOCKET_NAME,
          ]),
        ]
      : [fcBin, ['--api-sock', join(rootDir, API_SOCKET_NAME), '--id', opts.id]];
    const log = await open(join(opts.vmDir, LOG_FILE_NAME), 'a');
    try {
      const child = spawn(command, args, { cwd: opts.vmDir, stdio: ['ignore', log.fd, log.fd] });
      return new FirecrackerProcess(opts, child);
    } finally {
      await log.close();
    }
  }

  /** How the process ended, for error messages, e.g. `exited with code 153 (bad command-line arguments)`. */
  describeExit(): string {
    if (this.#spawnError) return `could not be started (${this.#spawnError.message})`;
    const exit = this.#exit;
    if (!exit) return 'is running';
    if (exit.signal) return `was killed by ${exit.signal}`;
    const meaning = exit.code === null ? undefined : EXIT_CODE_MEANINGS[exit.code];
    return `exited with code ${String(exit.code)}${meaning ? ` (${meaning})` : ''}`;
  }

  /** Set once the process has exited. */
  get exitInfo(): VmExit | undefined {
    return this.#exit;
  }

  /** The last lines of the serial console / VMM log ('' when there is none). */
  async logTail(): Promise<string> {
    try {
      const file = await open(this.logPath, 'r');
      try {
        const { size } = await file.stat();
        const length = Math.min(size, LOG_TAIL_BYTES);
        const { buffer } = await file.read({ buffer: Buffer.alloc(length), position: size - length });
        return buffer.toString('utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
      } finally {
        await file.close();
      }
    } catch {
      return '';
    }
  }

  /**
   * Makes a host file visible to Firecracker under `name` in its root and returns the
   * path to hand it. Without the jailer and `inRoot` false, the host path itself is
   * returned (nothing is copied). Otherwise the file is hard-linked (copied across
   * file systems), so the original is never modified through the link.
   */
  async placeFile(hostPath: string, name: string, opts: { readonly inRoot: boolean }): Promise<string> {
    if (!this.#jailed && !opts.inRoot) return resolve(hostPath);
    await linkOrCopy(hostPath, join(this.rootDir, name));
    return name;
  }

  /** SIGKILLs the process, waits for it to exit and removes its files. Safe to call twice. */
  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      this.api.close();
      if (this.#exit === undefined) this.#child.kill('SIGKILL');
      await this.exited;
      await rm(this.vmDir, { recursive: true, force: true });
      if (this.#chrootDir) await rm(this.#chrootDir, { recursive: true, force: true });
      if (this.#cgroupDir) await rmdir(this.#cgroupDir).catch(() => undefined);
    })();
    return this.#destroying;
  }
}

function commandPath(command: string): string {
  return command.includes('/') ? resolve(command) : command;
}

/** Hard-links `from` to `to`, or copies it when linking is impossible (another file system). */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
    await copyFile(from, to);
  }
}

/** Renames `from` to `to`, copying when they are on different file systems. */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
    await unlink(from);
  }
}
