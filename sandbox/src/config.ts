/**
 * The sandbox's configuration: parsed from the environment once, at start,
 * with a message that names the variable when a value is wrong. Nothing else
 * reads `process.env`.
 * @module
 */
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const envSchema = z.object({
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_PORT: int(5000, 0).pipe(z.number().max(65535)),
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
  /** Idle warm VMs kept ready. */
  POOL_SIZE: int(2, 0),
  POOL_MODE: z.enum(['snapshot', 'boot']).default('snapshot'),
  /** Runs executing at once; more wait in a queue. */
  MAX_CONCURRENT_RUNS: int(4, 1),
  MAX_QUEUED_RUNS: int(32, 0),
  SESSION_IDLE_MS: int(5 * 60_000, 1000),
  BOOT_TIMEOUT_MS: int(30_000, 1000),
  SANDBOX_DRIVER: z.enum(['qemu', 'firecracker']).default('qemu'),
  SANDBOX_ACCEL: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  QEMU_BIN: z.string().default('qemu-system-x86_64'),
  FIRECRACKER_BIN: z.string().optional(),
  FIRECRACKER_JAILER_BIN: z.string().optional(),
  /** Where VM sockets, consoles and snapshot files live while the service runs. */
  SANDBOX_RUN_DIR: z.string().optional(),
  CODECELL_CACHE_DIR: z.string().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

/** Memory the guest itself needs (kernel, initramfs in RAM, agent), added to a program's memory. */
export const GUEST_OVERHEAD_MB = 192;

export type SandboxConfig = Readonly<z.infer<typeof envSchema>>;

/** Parses `env`; throws an Error naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SandboxConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`);
    throw new Error(`invalid sandbox configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const problems: string[] = [];
  if (c.RUN_TIMEOUT_MS > c.MAX_RUN_TIMEOUT_MS) problems.push('RUN_TIMEOUT_MS is larger than MAX_RUN_TIMEOUT_MS');
  if (c.DEFAULT_MEM_MB > c.MAX_MEM_MB) problems.push('DEFAULT_MEM_MB is larger than MAX_MEM_MB');
  if (c.OUTPUT_BYTES > c.MAX_OUTPUT_BYTES) problems.push('OUTPUT_BYTES is larger than MAX_OUTPUT_BYTES');
  if (c.SANDBOX_DRIVER === 'firecracker' && !c.FIRECRACKER_BIN) problems.push('SANDBOX_DRIVER=firecracker needs FIRECRACKER_BIN');
  if (problems.length > 0) throw new Error(`invalid sandbox configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(c);
}
