/**
 * Request and response bodies of Firecracker's API (v1.16), named as on the wire.
 * @module
 */

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  /** @default API_REQUEST_TIMEOUT_MS (FirecrackerApi.ts) */
  readonly timeoutMs?: number;
}

/** Options of `FirecrackerApi.call`. */
export interface RequestOptions extends CallOptions {
  /** JSON body; sent with Content-Length. */
  readonly body?: unknown;
}

/** `PUT /machine-config`. Omitted optionals are reset to Firecracker's defaults. */
export interface MachineConfig {
  readonly vcpu_count: number;
  readonly mem_size_mib: number;
  readonly smt?: boolean;
  readonly track_dirty_pages?: boolean;
  readonly huge_pages?: 'None' | '2M';
}

/** `PUT /boot-source`. Paths are resolved by Firecracker, relative to its cwd. */
export interface BootSource {
  readonly kernel_image_path: string;
  readonly initrd_path?: string;
  readonly boot_args?: string;
}

/** A token bucket of a rate limiter. */
export interface TokenBucket {
  readonly size: number;
  readonly refill_time: number;
  readonly one_time_burst?: number;
}

/** Rate limiter accepted by drives, entropy and serial. */
export interface RateLimiter {
  readonly bandwidth?: TokenBucket;
  readonly ops?: TokenBucket;
}

/** `PUT /drives/{drive_id}`. */
export interface DriveConfig {
  readonly drive_id: string;
  readonly is_root_device: boolean;
  readonly path_on_host?: string;
  readonly is_read_only?: boolean;
  readonly partuuid?: string;
  readonly cache_type?: 'Unsafe' | 'Writeback';
  readonly io_engine?: 'Sync' | 'Async';
  readonly rate_limiter?: RateLimiter;
}

/** `PUT /vsock`. Firecracker binds `uds_path` during this call. */
export interface VsockConfig {
  readonly guest_cid: number;
  readonly uds_path: string;
}

/** `PUT /logger`. */
export interface LoggerConfig {
  readonly log_path?: string;
  readonly level?: 'Error' | 'Warning' | 'Info' | 'Debug' | 'Trace' | 'Off';
  readonly show_level?: boolean;
  readonly show_log_origin?: boolean;
  readonly module?: string;
}

/** `PUT /snapshot/create`. The VM must be paused. */
export interface SnapshotCreateParams {
  readonly snapshot_type?: 'Full' | 'Diff';
  readonly snapshot_path: string;
  readonly mem_file_path: string;
}

/** Input of `FirecrackerApi.loadSnapshot`. */
export interface SnapshotLoadOptions extends CallOptions {
  readonly snapshotPath: string;
  /** Guest memory file, mapped copy-on-write: it must not change while clones live. */
  readonly memFilePath: string;
  readonly resumeVm: boolean;
  /** Sent as `vsock_override` only to Firecracker >= 1.16 (older versions reject the field). */
  readonly vsockUdsPath?: string;
}

/** `GET /`. */
export interface InstanceInfo {
  readonly id: string;
  readonly state: 'Not started' | 'Running' | 'Paused';
  readonly vmm_version: string;
  readonly app_name: string;
}
