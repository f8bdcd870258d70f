/**
 * Typed client for Firecracker's REST API: HTTP/1.1 over the `--api-sock` Unix socket.
 *
 * Firecracker's HTTP server (micro-http) reads a body only by `Content-Length`, so every
 * request with a body carries one and nothing is ever chunked. Calls on one instance are
 * serialized (one in flight at a time), as the VMM applies them one by one anyway.
 * See /work/shared/reference/vmm.md sections 1-3.
 * @module
 */
import { Agent, request } from 'node:http';
import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CodeCellError } from '@codecell/protocol';
import type {
  BootSource,
  CallOptions,
  DriveConfig,
  InstanceInfo,
  LoggerConfig,
  MachineConfig,
  RateLimiter,
  RequestOptions,
  SnapshotCreateParams,
  SnapshotLoadOptions,
  VsockConfig,
} from './apiTypes.js';

/** Default per-request timeout. The Go SDK uses 500 ms; we leave room for loaded hosts. */
export const API_REQUEST_TIMEOUT_MS = 2_000;
/** Timeout for snapshot create/load, which write or map the guest memory file. */
export const SNAPSHOT_REQUEST_TIMEOUT_MS = 30_000;
/** How often {@link FirecrackerApi.waitForSocket} polls (the Go SDK's interval). */
export const SOCKET_POLL_INTERVAL_MS = 10;
/** Timeout of each probe made by {@link FirecrackerApi.waitForSocket}. */
const SOCKET_PROBE_TIMEOUT_MS = 500;
/** Firecracker accepts only these characters in drive and interface ids. */
const RESOURCE_ID_PATTERN = /^[A-Za-z0-9_]+$/;

/** Thrown for a failed call; the message names the request and Firecracker's `fault_message`. */
export class FirecrackerApiError extends CodeCellError {
  override readonly name: string = 'FirecrackerApiError';
  readonly method: string;
  readonly path: string;
  /** HTTP status, or `undefined` when no response arrived (timeout, socket error, client check). */
  readonly statusCode: number | undefined;
  /** Firecracker's `fault_message` (or micro-http's `error`), or a description of the failure. */
  readonly faultMessage: string;

  constructor(opts: {
    method: string;
    path: string;
    statusCode?: number;
    faultMessage: string;
    cause?: unknown;
  }) {
    super('internal_error', `${opts.method} ${opts.path} failed: ${opts.faultMessage}`, {
      cause: opts.cause,
    });
    this.method = opts.method;
    this.path = opts.path;
    this.statusCode = opts.statusCode;
    this.faultMessage = opts.faultMessage;
  }
}

/**
 * True when `version` (e.g. `1.16.1`) is at least `major.minor`.
 * @example versionAtLeast('1.16.1', [1, 16]) // true
 */
export function versionAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [gotMajor, gotMinor] = [Number(match[1]), Number(match[2])];
  return gotMajor > major || (gotMajor === major && gotMinor >= minor);
}

/** Options of {@link FirecrackerApi}. */
export interface FirecrackerApiOptions {
  /** Host path of the API socket. */
  readonly socketPath: string;
  /** @default API_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
}

/**
 * Client for one Firecracker process. Keeps one keep-alive connection (of the ten
 * Firecracker allows); call {@link FirecrackerApi.close} when the VM goes away.
 */
export class FirecrackerApi {
  readonly socketPath: string;
  readonly #timeoutMs: number;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });
  #queue: Promise<unknown> = Promise.resolve();
  #version: string | undefined;

  constructor(opts: FirecrackerApiOptions) {
    this.socketPath = opts.socketPath;
    this.#timeoutMs = opts.requestTimeoutMs ?? API_REQUEST_TIMEOUT_MS;
  }

  /**
   * Sends one request, after any earlier request on this client has finished.
   * Resolves with the parsed JSON body, or `undefined` for 204.
   */
  call(method: 'GET' | 'PUT' | 'PATCH', path: string, opts: RequestOptions = {}): Promise<unknown> {
    const run = this.#queue.then(() => this.#send(method, path, opts));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Firecracker's version, e.g. `1.16.1` (cached). */
  async getVersion(opts?: CallOptions): Promise<string> {
    if (this.#version === undefined) {
      const reply = (await this.call('GET', '/version', opts)) as
        { firecracker_version?: unknown } | undefined;
      const version = reply?.firecracker_version;
      if (typeof version !== 'string') {
        throw new FirecrackerApiError({
          method: 'GET',
          path: '/version',
          faultMessage: 'reply has no firecracker_version',
        });
      }
      this.#version = version;
    }
    return this.#version;
  }

  /** `GET /` */
  async getInstanceInfo(opts?: CallOptions): Promise<InstanceInfo> {
    return (await this.call('GET', '/', opts)) as InstanceInfo;
  }

  /** `GET /machine-config` */
  async getMachineConfig(opts?: CallOptions): Promise<MachineConfig> {
    return (await this.call('GET', '/machine-config', opts)) as MachineConfig;
  }

  /** `PUT /machine-config` (pre-boot). Omitted optionals are reset to defaults. */
  async putMachineConfig(config: MachineConfig, opts?: CallOptions): Promise<void> {
    await this.call('PUT', '/machine-config', { ...opts, body: config });
  }

  /** `PUT /boot-source` (pre-boot). Firecracker opens the kernel and initrd now. */
  async putBootSource(source: BootSource, opts?: CallOptions): Promise<void> {
    await this.call('PUT', '/boot-source', { ...opts, body: source });
  }

  /** `PUT /drives/{id}`; rejects ids outside `[A-Za-z0-9_]` without sending anything. */
  async putDrive(drive: DriveConfig, opts?: CallOptions): Promise<void> {
    const path = `/drives/${drive.drive_id}`;
    if (!RESOURCE_ID_PATTERN.test(drive.drive_id)) {
      throw new FirecrackerApiError({
        method: 'PUT',
        path,
        faultMessage: 'API Resource IDs can only contain alphanumeric characters and underscores.',
      });
    }
    await this.call('PUT', path, { ...opts, body: drive });
  }

  /** `PUT /vsock` (pre-boot). Firecracker binds `uds_path` now; it must not exist. */
  async putVsock(vsock: VsockConfig, opts?: CallOptions): Promise<void> {
    await this.call('PUT', '/vsock', { ...opts, body: vsock });
  }

  /** `PUT /entropy` (pre-boot): a virtio-rng device. */
  async putEntropy(entropy: { readonly rate_limiter?: RateLimiter } = {}, opts?: CallOptions): Promise<void> {
    await this.call('PUT', '/entropy', { ...opts, body: entropy });
  }

  /** `PUT /logger` (pre-boot; allowed before `/snapshot/load`). */
  async putLogger(logger: LoggerConfig, opts?: CallOptions): Promise<void> {
    await this.call('PUT', '/logger', { ...opts, body: logger });
  }

  /** `PUT /metrics` (pre-boot, once; allowed before `/snapshot/load`). */
  async putMetrics(metrics: { readonly metrics_path: string }, opts?: CallOptions): Promise<void> {
    await this.call('PUT', '/metrics', { ...opts, body: metrics });
  }

  /** `PUT /actions InstanceStart`: boots the configured VM. Succeeds only once. */
  async instanceStart(opts?: CallOptions): Promise<void> {
    await this.call('PUT', '/actions', { ...opts, body: { action_type: 'InstanceStart' } });
  }

  /** Asks the guest to reboot (x86; needs i8042 in the guest). With `reboot=k` Firecracker then exits. */
  async sendCtrlAltDel(opts?: CallOptions): Promise<void> {
    await this.call('PUT', '/actions', { ...opts, body: { action_type: 'SendCtrlAltDel' } });
  }

  /** `PATCH /vm {state: Paused}` (post-boot, idempotent). */
  async pauseVm(opts?: CallOptions): Promise<void> {
    await this.call('PATCH', '/vm', { ...opts, body: { state: 'Paused' } });
  }

  /** `PATCH /vm {state: Resumed}` (post-boot, idempotent). */
  async resumeVm(opts?: CallOptions): Promise<void> {
    await this.call('PATCH', '/vm', { ...opts, body: { state: 'Resumed' } });
  }

  /** `PUT /snapshot/create` (VM paused). Existing files are truncated. */
  async createSnapshot(params: SnapshotCreateParams, opts: CallOptions = {}): Promise<void> {
    await this.call('PUT', '/snapshot/create', {
      ...opts,
      timeoutMs: opts.timeoutMs ?? SNAPSHOT_REQUEST_TIMEOUT_MS,
      body: params,
    });
  }

  /**
   * `PUT /snapshot/load` with a File memory backend. Only logger/metrics may precede it,
   * and a failed load ends the Firecracker process.
   * @returns whether `vsock_override` was sent (Firecracker >= 1.16).
   */
  async loadSnapshot(opts: SnapshotLoadOptions): Promise<{ vsockOverridden: boolean }> {
    const callOpts: CallOptions = {
      timeoutMs: opts.timeoutMs ?? SNAPSHOT_REQUEST_TIMEOUT_MS,
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    const vsockOverridden =
      opts.vsockUdsPath !== undefined && versionAtLeast(await this.getVersion(callOpts), [1, 16]);
    await this.call('PUT', '/snapshot/load', {
      ...callOpts,
      body: {
        snapshot_path: opts.snapshotPath,
        mem_backend: { backend_type: 'File', backend_path: opts.memFilePath },
        resume_vm: opts.resumeVm,
        ...(vsockOverridden ? { vsock_override: { uds_path: opts.vsockUdsPath } } : {}),
      },
    });
    return { vsockOverridden };
  }

  /**
   * Waits until the socket file exists and `GET /machine-config` succeeds, polling every
   * {@link SOCKET_POLL_INTERVAL_MS}. Throws `vm_boot_failed` after `timeoutMs`.
   */
  async waitForSocket(opts: { readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    let lastError = 'socket file not created';
    for (;;) {
      opts.signal?.throwIfAborted();
      if (await fileExists(this.socketPath)) {
        try {
          await this.getMachineConfig({
            timeoutMs: SOCKET_PROBE_TIMEOUT_MS,
            ...(opts.signal ? { signal: opts.signal } : {}),
          });
          return;
        } catch (err) {
          opts.signal?.throwIfAborted();
          lastError = err instanceof Error ? err.message : String(err);
        }
      }
      if (Date.now() >= deadline) {
        throw new CodeCellError(
          'vm_boot_failed',
          `Firecracker API socket ${this.socketPath} not ready within ${opts.timeoutMs} ms (${lastError})`,
        );
      }
      try {
        await sleep(SOCKET_POLL_INTERVAL_MS, undefined, opts.signal ? { signal: opts.signal } : {});
      } catch (err) {
        throw opts.signal?.aborted ? opts.signal.reason : err;
      }
    }
  }

  /** Closes the keep-alive connection. Later calls open a new one. */
  close(): void {
    this.#agent.destroy();
  }

  #send(method: string, path: string, opts: RequestOptions): Promise<unknown> {
    const { body } = opts;
    opts.signal?.throwIfAborted();
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        if (opts.signal?.aborted) reject(opts.signal.reason);
        else if (timeout.aborted) {
          reject(
            new FirecrackerApiError({
              method,
              path,
              faultMessage: `no reply within ${timeoutMs} ms`,
              cause: err,
            }),
          );
        } else reject(new FirecrackerApiError({ method, path, faultMessage: err.message, cause: err }));
      };
      const req = request(
        { socketPath: this.socketPath, method, path, headers, agent: this.#agent, signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', fail);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            const parsed = parseJson(text);
            if (status >= 200 && status < 300) resolve(parsed);
            else
              reject(
                new FirecrackerApiError({
                  method,
                  path,
                  statusCode: status,
                  faultMessage: faultOf(parsed, text, status),
                }),
              );
          });
        },
      );
      req.on('error', fail);
      req.end(payload);
    });
  }
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Firecracker errors are `{fault_message}`; micro-http's own are `{error}`. */
function faultOf(parsed: unknown, text: string, status: number): string {
  if (typeof parsed === 'object' && parsed !== null) {
    const record = parsed as { fault_message?: unknown; error?: unknown };
    if (typeof record.fault_message === 'string') return record.fault_message;
    if (typeof record.error === 'string') return record.error;
  }
  return text.trim() === '' ? `HTTP ${status}` : `HTTP ${status}: ${text.trim()}`;
}
