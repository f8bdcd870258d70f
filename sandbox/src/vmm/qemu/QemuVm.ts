/**
 * One QEMU process: spawn (inside its host cgroup), channel, QMP, teardown.
 * @module
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { CodeCellError } from '@codecell/protocol';
import type { VmExit, VmHandle, VmShape } from '../VmmDriver.js';
import type { VmCgroup } from '../hostCgroup.js';
import { connectWithRetry } from '../unixSocket.js';
import { QmpClient } from './QmpClient.js';

/** How long destroy waits for QEMU to exit after SIGKILL. */
const EXIT_WAIT_MS = 5_000;
/** Bytes of QEMU's stderr kept for error messages. */
const STDERR_TAIL_BYTES = 4096;

export interface SpawnQemuOptions {
  readonly id: string;
  readonly qemuBin: string;
  readonly args: readonly string[];
  readonly vmDir: string;
  readonly shape: VmShape;
  readonly cgroup: VmCgroup | undefined;
  readonly restored: boolean;
}

/** A spawned QEMU; becomes a usable {@link VmHandle} once {@link QemuVm.connectChannel} resolves. */
export class QemuVm implements VmHandle {
  readonly id: string;
  readonly shape: VmShape;
  readonly restored: boolean;
  readonly vmDir: string;
  readonly exited: Promise<VmExit>;
  private readonly child: ChildProcess;
  private readonly cgroup: VmCgroup | undefined;
  private stderrTail = '';
  private exit: VmExit | undefined;
  private socket: Socket | undefined;
  private destroying: Promise<void> | undefined;

  constructor(o: SpawnQemuOptions) {
    this.id = o.id;
    this.shape = o.shape;
    this.restored = o.restored;
    this.vmDir = o.vmDir;
    this.cgroup = o.cgroup;
    // A shell puts itself into the VM's cgroups and then execs QEMU, so QEMU's
    // memory is charged to the cgroup from its first page; setpriv makes the
    // kernel kill QEMU if this service dies, so no VM outlives its controller.
    const script =
      'for f in $CODECELL_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; ' +
      'if command -v setpriv >/dev/null; then exec setpriv --pdeathsig KILL -- "$@"; else exec "$@"; fi';
    this.child = spawn('/bin/sh', ['-c', script, 'qemu', o.qemuBin, ...o.args], {
      cwd: o.vmDir,
      stdio: ['ignore', 'ignore', 'pipe'],
      // QEMU gets no environment of ours: only a PATH and the cgroup files for the shell.
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CODECELL_CGROUP_PROCS: (o.cgroup?.procsFiles ?? []).join(' ') },
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-STDERR_TAIL_BYTES);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.stderrTail += `\nspawn failed: ${err.message}`;
        this.exit ??= { code: null, signal: null };
        resolve(this.exit);
      });
      this.child.once('exit', (code, signal) => {
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  get channel(): Socket {
    if (!this.socket) throw new CodeCellError('internal_error', `VM ${this.id} has no channel yet`);
    return this.socket;
  }

  /** Connects to the agent's virtio-serial chardev. */
  async connectChannel(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    this.socket = await this.withExitCheck(
      connectWithRetry({ path: join(this.vmDir, 'agent.sock'), timeoutMs, signal, alive: () => this.alive }),
    );
    this.socket.on('error', () => undefined); // surfaced through AgentConnection / exited
  }

  /** Connects a QMP client (negotiated). */
  async qmp(timeoutMs: number, signal?: AbortSignal): Promise<QmpClient> {
    const sock = await this.withExitCheck(
      connectWithRetry({ path: join(this.vmDir, 'qmp.sock'), timeoutMs, signal, alive: () => this.alive }),
    );
    const client = new QmpClient(sock);
    await client.init();
    return client;
  }

  /** What QEMU and the guest console said last, for error messages. */
  diagnostics(): string {
    let console = '';
    try {
      console = readFileSync(join(this.vmDir, 'console.log'), 'utf8').slice(-2048);
    } catch {
      // no console output yet
    }
    const exit = this.exit ? ` (QEMU exited: code ${this.exit.code}, signal ${this.exit.signal})` : '';
    return `${exit}${this.stderrTail ? `\nQEMU: ${this.stderrTail.trim()}` : ''}${console ? `\nguest console: ${console.trim()}` : ''}`;
  }

  /** Kills QEMU, removes its cgroup and directory. Safe to call twice. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      this.socket?.destroy();
      if (this.alive) this.child.kill('SIGKILL');
      await this.waitExit();
      await this.cgroup?.remove();
      await rm(this.vmDir, { recursive: true, force: true });
    })();
    return this.destroying;
  }

  /** Like `destroy` but keeps the directory (its files become a template). */
  async stopKeepingFiles(): Promise<void> {
    this.socket?.destroy();
    if (this.alive) this.child.kill('SIGKILL');
    await this.waitExit();
    await this.cgroup?.remove();
  }

  /** Waits for QEMU's exit after SIGKILL, but never forever: dispose must finish. */
  private async waitExit(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), EXIT_WAIT_MS)));
    await Promise.race([this.exited, late]);
    clearTimeout(timer);
  }

  private async withExitCheck<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw new CodeCellError('vm_boot_failed', `QEMU VM ${this.id} did not come up: ${String(err)}${this.diagnostics()}`, {
        cause: err,
      });
    }
  }
}
