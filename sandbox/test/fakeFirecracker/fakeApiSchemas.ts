/**
 * Body shapes of the Firecracker API endpoints the fake implements, checked the way
 * serde does with `#[serde(deny_unknown_fields)]`: unknown fields, missing required
 * fields and wrong types are errors, reported in serde's wording.
 * @module
 */

/** A field type: a scalar kind, or the variants of a unit enum. */
export type FieldType = 'string' | 'u32' | 'u64' | 'bool' | 'object' | 'array' | readonly string[];

/** One struct: field name to type, in declaration order (serde lists them in errors). */
export interface StructSpec {
  readonly name: string;
  readonly required: Readonly<Record<string, FieldType>>;
  readonly optional: Readonly<Record<string, FieldType>>;
}

const LOG_LEVELS = ['Error', 'Warning', 'Info', 'Debug', 'Trace', 'Off'] as const;

/** Endpoint bodies of Firecracker v1.16 (`src/vmm/src/vmm_config/*.rs`). */
export const SPECS = {
  machineConfig: {
    name: 'MachineConfig',
    required: { vcpu_count: 'u32', mem_size_mib: 'u64' },
    optional: { smt: 'bool', cpu_template: 'string', track_dirty_pages: 'bool', huge_pages: ['None', '2M'] },
  },
  machineConfigPatch: {
    name: 'MachineConfigUpdate',
    required: {},
    optional: {
      vcpu_count: 'u32',
      mem_size_mib: 'u64',
      smt: 'bool',
      cpu_template: 'string',
      track_dirty_pages: 'bool',
      huge_pages: ['None', '2M'],
    },
  },
  bootSource: {
    name: 'BootSourceConfig',
    required: { kernel_image_path: 'string' },
    optional: { initrd_path: 'string', boot_args: 'string' },
  },
  drive: {
    name: 'BlockDeviceConfig',
    required: { drive_id: 'string', is_root_device: 'bool' },
    optional: {
      partuuid: 'string',
      cache_type: ['Unsafe', 'Writeback'],
      is_read_only: 'bool',
      path_on_host: 'string',
      rate_limiter: 'object',
      io_engine: ['Sync', 'Async'],
      socket: 'string',
    },
  },
  vsock: {
    name: 'VsockDeviceConfig',
    required: { guest_cid: 'u32', uds_path: 'string' },
    optional: { vsock_id: 'string' },
  },
  entropy: { name: 'EntropyDeviceConfig', required: {}, optional: { rate_limiter: 'object' } },
  logger: {
    name: 'LoggerConfig',
    required: {},
    optional: {
      log_path: 'string',
      level: LOG_LEVELS,
      show_level: 'bool',
      show_log_origin: 'bool',
      module: 'string',
    },
  },
  metrics: { name: 'MetricsConfig', required: { metrics_path: 'string' }, optional: {} },
  serial: {
    name: 'SerialConfig',
    required: {},
    optional: { serial_out_path: 'string', rate_limiter: 'object' },
  },
  actions: {
    name: 'ActionBody',
    required: { action_type: ['FlushMetrics', 'InstanceStart', 'SendCtrlAltDel'] },
    optional: {},
  },
  vmState: { name: 'Vm', required: { state: ['Paused', 'Resumed'] }, optional: {} },
  snapshotCreate: {
    name: 'CreateSnapshotParams',
    required: { snapshot_path: 'string', mem_file_path: 'string' },
    optional: { snapshot_type: ['Diff', 'Full'] },
  },
  memBackend: {
    name: 'MemBackendConfig',
    required: { backend_path: 'string', backend_type: ['File', 'Uffd'] },
    optional: {},
  },
  vsockOverride: { name: 'VsockOverride', required: { uds_path: 'string' }, optional: {} },
} as const satisfies Record<string, StructSpec>;

/** `PUT /snapshot/load` grew fields over releases; unknown ones are rejected. */
export function snapshotLoadSpec(version: string): StructSpec {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const atLeast = (m: number): boolean => major > 1 || (major === 1 && minor >= m);
  const optional: Record<string, FieldType> = {
    mem_file_path: 'string',
    mem_backend: 'object',
    enable_diff_snapshots: 'bool',
    resume_vm: 'bool',
  };
  if (atLeast(12)) optional['network_overrides'] = 'array';
  if (atLeast(13)) optional['track_dirty_pages'] = 'bool';
  if (atLeast(16)) {
    optional['vsock_override'] = 'object';
    optional['clock_realtime'] = 'bool';
  }
  return { name: 'LoadSnapshotConfig', required: { snapshot_path: 'string' }, optional };
}

/** A JSON object as parsed by the fake. */
export type JsonObject = Readonly<Record<string, unknown>>;

/**
 * Checks `value` against `spec`. Returns the object, or a serde-style error message
 * (the caller adds Firecracker's "An error occurred when deserializing..." prefix).
 */
export function checkStruct(spec: StructSpec, value: unknown): JsonObject | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `invalid type: ${describe(value)}, expected struct ${spec.name}`;
  }
  const record = value as JsonObject;
  const all: Record<string, FieldType> = { ...spec.required, ...spec.optional };
  const names = Object.keys(all);
  for (const key of Object.keys(record)) {
    if (!(key in all)) return `unknown field \`${key}\`, ${expectedOneOf(names)}`;
  }
  for (const key of Object.keys(spec.required)) {
    if (!(key in record)) return `missing field \`${key}\``;
  }
  for (const [key, type] of Object.entries(all)) {
    if (!(key in record)) continue;
    const problem = checkType(type, record[key]);
    if (problem !== undefined) return problem;
  }
  return record;
}

function checkType(type: FieldType, value: unknown): string | undefined {
  if (typeof type !== 'string') {
    if (typeof value === 'string' && type.includes(value)) return undefined;
    if (typeof value === 'string') return `unknown variant \`${value}\`, ${expectedOneOf(type)}`;
    return `invalid type: ${describe(value)}, expected enum`;
  }
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : `invalid type: ${describe(value)}, expected a string`;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `invalid type: ${describe(value)}, expected a boolean`;
    case 'u32':
    case 'u64': {
      const max = type === 'u32' ? 2 ** 32 - 1 : Number.MAX_SAFE_INTEGER;
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max)
        return undefined;
      return `invalid ${typeof value === 'number' ? 'value' : 'type'}: ${describe(value)}, expected ${type}`;
    }
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
        ? undefined
        : `invalid type: ${describe(value)}, expected a map`;
    case 'array':
      return Array.isArray(value) ? undefined : `invalid type: ${describe(value)}, expected a sequence`;
  }
}

function expectedOneOf(names: readonly string[]): string {
  if (names.length === 0) return 'there are no fields';
  if (names.length === 1) return `expected \`${names[0] ?? ''}\``;
  if (names.length === 2) return `expected \`${names[0] ?? ''}\` or \`${names[1] ?? ''}\``;
  return `expected one of ${names.map((n) => `\`${n}\``).join(', ')}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'sequence';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value)}`;
    case 'number':
      return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
    case 'boolean':
      return `boolean \`${value}\``;
    case 'object':
      return 'map';
    default:
      return typeof value;
  }
}

/** Firecracker's `fault_message`s. */
export const FAULTS = {
  preBootOnly: 'The requested operation is not supported after starting the microVM.',
  postBootOnly: 'The requested operation is not supported before starting the microVM.',
  badId: 'API Resource IDs can only contain alphanumeric characters and underscores.',
  emptyId: 'The ID cannot be empty.',
  idMismatch: 'The id from the path does not match the id from the body!',
  noKernel: 'Cannot start microvm without kernel configuration.',
  loadAfterConfig:
    'Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources.',
  metricsTwice: 'Reinitialization of metrics not allowed.',
  notPaused:
    'Create snapshot error: Cannot save the microVM state: Operation not allowed: save/restore unavailable while running',
} as const;

/** A request Firecracker refuses: becomes 400 `{"fault_message": message}`. */
export class Fault extends Error {}

/** Firecracker's wrapper around serde errors. */
export function serdeFault(message: string): string {
  return `An error occurred when deserializing the json body of a request: ${message}.`;
}

/** Parses a JSON body against `spec`, or throws the {@link Fault} Firecracker would answer. */
export function parseBody(spec: StructSpec, body: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(body) as unknown;
  } catch (err) {
    throw new Fault(serdeFault(err instanceof Error ? err.message : String(err)));
  }
  return parseStruct(spec, value);
}

/** Checks an already-parsed value against `spec`, throwing a {@link Fault}. */
export function parseStruct(spec: StructSpec, value: unknown): JsonObject {
  const checked = checkStruct(spec, value);
  if (typeof checked === 'string') throw new Fault(serdeFault(checked));
  return checked;
}
