/**
 * The sandbox's configuration: parsed from the environment once, at start,
 * with a message that names the variable when a value is wrong. Nothing else
 * reads `process.env`.
 * @module
 */
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_COMPILE_LIMITS } from '@codecell/protocol';
import { defaultCacheDir } from '@codecell/guest';
import { DEFAULT_REDIS_PREFIX } from '@codecell/protocol';
import { redisAddress } from '@codecell/redis-kit';
import { MIN_SECRET_LENGTH } from '@codecell/server-kit';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const optionalInt = (min: number) => z.coerce.number().int().min(min).optional();

/** A comma-separated list of host names (as a Host header carries them, without port). */
const hostListSchema = z
  .string()
  .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h.length > 0))
  .pipe(z.array(z.string().regex(/^[a-z0-9.:-]+$/, 'expected host names such as sandbox.internal, separated by commas')));

/** REDIS_URL, checked the way the Redis client will read it. */
const redisUrlSchema = z.string().trim().superRefine((s, ctx) => {
  try {
    redisAddress(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
const redisPrefixSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, _ . or -').default(DEFAULT_REDIS_PREFIX);

const envSchema = z.object({
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_PORT: int(5000, 0).pipe(z.number().max(65535)),
  /** Listen on this Unix socket (created 0600) instead of SANDBOX_HOST:SANDBOX_PORT. */
  SANDBOX_SOCKET: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** The secret the gateway must send as `Authorization: Bearer`; unset: generated into SANDBOX_TOKEN_FILE. */
  SANDBOX_TOKEN: z.string().min(MIN_SECRET_LENGTH).regex(/^\S+$/, 'may not contain spaces').optional(),
  /** Where the generated token is kept (mode 0600). Default `<cache dir>/sandbox.token`. */
  SANDBOX_TOKEN_FILE: z.string().min(1).optional(),
  /** More Host names to answer to besides loopback and SANDBOX_HOST (DNS-rebinding protection). */
  SANDBOX_ALLOWED_HOSTS: hostListSchema.default([]),
  /** Most session VMs at once. Default: what MAX_GUEST_MEMORY_MB holds of the default VM shape, at most 32. */
  MAX_SESSIONS: optionalInt(1),
  /** Most guest memory of all VMs together, MiB. Default: half the host's memory (at least one VM of MAX_MEM_MB). */
  MAX_GUEST_MEMORY_MB: optionalInt(64),
  /** Default wall-clock limit of a run. */
  RUN_TIMEOUT_MS: int(5000, 100),
  /** Largest `limits.timeoutMs` a request may ask for. */
  MAX_RUN_TIMEOUT_MS: int(60_000, 100),
  /** Default memory for a program, MiB. */
  DEFAULT_MEM_MB: int(128, 16),
  /** Largest `limits.memoryMb` a request may ask for. */
  MAX_MEM_MB: int(512, 16),
  /** Largest `limits.vcpus` a request may ask for. */
  MAX_VCPUS: int(2, 1),
  /** Default and largest output (stdout + stderr) per run. */
  OUTPUT_BYTES: int(1024 * 1024, 1024),
  MAX_OUTPUT_BYTES: int(16 * 1024 * 1024, 1024),
  MAX_SOURCE_BYTES: int(1024 * 1024, 1),
  MAX_FILES: int(100, 0),
  MAX_FILES_BYTES: int(8 * 1024 * 1024, 0),
  MAX_STDIN_BYTES: int(1024 * 1024, 0),
  /** Largest file a run wrote that comes back with its content (`file` events); larger ones come back truncated (size only). */
  OUTPUT_FILE_BYTES: int(2 * 1024 * 1024, 0),
  /** Content of all files one run brings back; past it, files come back truncated. */
  OUTPUT_FILES_BYTES: int(8 * 1024 * 1024, 0),
  /** Files one run reports at most (the rest are not reported). */
  OUTPUT_FILES: int(100, 0),
  /** Idle warm VMs kept ready. */
  POOL_SIZE: int(2, 0),
  POOL_MODE: z.enum(['snapshot', 'boot']).default('snapshot'),
  /** Runs executing at once; more wait in a queue. */
  MAX_CONCURRENT_RUNS: int(4, 1),
  MAX_QUEUED_RUNS: int(32, 0),
  SESSION_IDLE_MS: int(5 * 60_000, 1000),
  /** A terminal session (shell, REPL) ends after this long without input or output. */
  TERMINAL_IDLE_MS: int(10 * 60_000, 1000),
  /** Largest `limits.idleTimeoutMs` of `POST /terminal`. */
  MAX_TERMINAL_IDLE_MS: int(60 * 60_000, 1000),
  BOOT_TIMEOUT_MS: int(30_000, 1000),
  SANDBOX_DRIVER: z.enum(['qemu', 'firecracker']).default('qemu'),
  SANDBOX_ACCEL: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  QEMU_BIN: z.string().default('qemu-system-x86_64'),
  FIRECRACKER_BIN: z.string().optional(),
  FIRECRACKER_JAILER_BIN: z.string().optional(),
  /** Where VM sockets, consoles and snapshot files live while the service runs. */
  SANDBOX_RUN_DIR: z.string().optional(),
  CODECELL_CACHE_DIR: z.string().optional(),
  /**
   * Where snapshot templates are kept between starts (a later start with the same
   * image, QEMU and VM shape restores instead of booting); `off` keeps none.
   * Default: `templates` in the cache directory.
   */
  SANDBOX_TEMPLATE_DIR: z.string().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Fleet mode: take runs from this Redis (BullMQ) besides POST /run. `redis://host:port`, `rediss://…` or `unix:/path`. */
  REDIS_URL: redisUrlSchema.optional(),
  /** Key prefix of the fleet in Redis; every gateway and host of one fleet uses the same. */
  REDIS_PREFIX: redisPrefixSchema,
  /** This host's id in the fleet (default: random at each start). */
  SANDBOX_HOST_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, _ . or -').optional(),
  /** Fleet mode, on SIGTERM: how long runs in progress may take to finish before they are ended, ms. */
  DRAIN_TIMEOUT_MS: int(120_000, 0),
});

/** Every variable the sandbox reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

/** Memory the guest itself needs (kernel, initramfs in RAM, agent), added to a program's memory. */
export const GUEST_OVERHEAD_MB = 192;

/**
 * Guest memory of the VM that runs a program of `programMb` MiB: never less
 * than a compiler gets by default, so one VM shape serves every language at
 * default limits (a session keeps its VM across languages, and every language
 * shares the warm pool).
 */
export function vmMemoryMb(programMb: number): number {
  return Math.max(programMb, DEFAULT_COMPILE_LIMITS.compileMemoryMb) + GUEST_OVERHEAD_MB;
}
/** The default of MAX_SESSIONS never exceeds this. */
export const MAX_SESSIONS_CAP = 32;

type ParsedEnv = z.infer<typeof envSchema>;
type Resolved = 'MAX_SESSIONS' | 'MAX_GUEST_MEMORY_MB' | 'SANDBOX_TOKEN_FILE';

/** The sandbox's configuration, with every default resolved. */
export type SandboxConfig = Readonly<Omit<ParsedEnv, Resolved> & Record<'MAX_SESSIONS' | 'MAX_GUEST_MEMORY_MB', number> & { SANDBOX_TOKEN_FILE: string }>;

/** What the defaults are computed from. */
export interface HostFacts {
  /** The host's memory, MiB. */
  readonly totalMemMb: number;
}

/** This host's facts. */
export function hostFacts(): HostFacts {
  return { totalMemMb: Math.floor(totalmem() / (1024 * 1024)) };
}

/**
 * The default MAX_SESSIONS: as many VMs of the default shape as MAX_GUEST_MEMORY_MB
 * holds besides the warm pool and its snapshot template, at least 1, at most {@link MAX_SESSIONS_CAP}.
 */
export function defaultMaxSessions(c: { MAX_GUEST_MEMORY_MB: number; DEFAULT_MEM_MB: number; POOL_SIZE: number }): number {
  const vmMb = vmMemoryMb(c.DEFAULT_MEM_MB);
  return Math.max(1, Math.min(MAX_SESSIONS_CAP, Math.floor(c.MAX_GUEST_MEMORY_MB / vmMb) - c.POOL_SIZE - 1));
}

/** Parses `env`; throws an Error naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, host: HostFacts = hostFacts()): SandboxConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`);
    throw new Error(`invalid sandbox configuration:\n${lines.join('\n')}`);
  }
  const p = parsed.data;
  // Default: half the host, but never less than one VM of the largest shape a run may ask for.
  const maxGuestMemoryMb = p.MAX_GUEST_MEMORY_MB ?? Math.max(Math.floor(host.totalMemMb / 2), vmMemoryMb(p.MAX_MEM_MB));
  const c: SandboxConfig = {
    ...p,
    MAX_GUEST_MEMORY_MB: maxGuestMemoryMb,
    MAX_SESSIONS: p.MAX_SESSIONS ?? defaultMaxSessions({ ...p, MAX_GUEST_MEMORY_MB: maxGuestMemoryMb }),
    SANDBOX_TOKEN_FILE: p.SANDBOX_TOKEN_FILE ?? join(p.CODECELL_CACHE_DIR ?? defaultCacheDir(env), 'sandbox.token'),
  };
  const problems: string[] = [];
  if (c.RUN_TIMEOUT_MS > c.MAX_RUN_TIMEOUT_MS) problems.push('RUN_TIMEOUT_MS is larger than MAX_RUN_TIMEOUT_MS');
  if (c.TERMINAL_IDLE_MS > c.MAX_TERMINAL_IDLE_MS) problems.push('TERMINAL_IDLE_MS is larger than MAX_TERMINAL_IDLE_MS');
  if (c.DEFAULT_MEM_MB > c.MAX_MEM_MB) problems.push('DEFAULT_MEM_MB is larger than MAX_MEM_MB');
  if (c.OUTPUT_BYTES > c.MAX_OUTPUT_BYTES) problems.push('OUTPUT_BYTES is larger than MAX_OUTPUT_BYTES');
  if (c.SANDBOX_DRIVER === 'firecracker' && !c.FIRECRACKER_BIN) problems.push('SANDBOX_DRIVER=firecracker needs FIRECRACKER_BIN');
  if (c.MAX_GUEST_MEMORY_MB < vmMemoryMb(c.MAX_MEM_MB)) {
    problems.push(`MAX_GUEST_MEMORY_MB (${c.MAX_GUEST_MEMORY_MB}) cannot hold one VM of MAX_MEM_MB (${vmMemoryMb(c.MAX_MEM_MB)} MiB: the program's or a compiler's memory + ${GUEST_OVERHEAD_MB} MiB for the guest itself); raise it or lower MAX_MEM_MB`);
  }
  if (problems.length > 0) throw new Error(`invalid sandbox configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(c);
}
