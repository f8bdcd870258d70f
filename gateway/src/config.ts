/**
 * The gateway's configuration: `process.env` parsed once at start. A bad value
 * fails fast with a message naming the variable. Nothing else reads `process.env`.
 * @module
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { MIN_SECRET_LENGTH } from '@codecell/server-kit';

const int = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

/** `host:port` or `http://host:port[/]` → a normalised `http://host:port` base URL; `unix:/path` stays as it is. */
const sandboxAddrSchema = z
  .string()
  .trim()
  .min(1)
  .transform((s, ctx) => {
    if (s.startsWith('unix:')) {
      if (s.startsWith('unix:/')) return s;
      ctx.addIssue({ code: 'custom', message: 'a Unix socket is given as unix:/absolute/path' });
      return z.NEVER;
    }
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected host:port or an http:// URL' });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `protocol ${url.protocol} is not supported; use http://` });
      return z.NEVER;
    }
    return url.origin + url.pathname.replace(/\/+$/, '');
  });

const originsSchema = z
  .string()
  .transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o.length > 0))
  .pipe(z.array(z.url({ protocol: /^https?$/ }).transform((o) => new URL(o).origin)));

const envSchema = z.object({
  /** Port of the gateway's HTTP server (tRPC, streams, frontend). 0 picks a free port. */
  PORT: int(4000, 0).pipe(z.number().max(65535)),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Where the sandbox listens: `host:port`, `http://host:port` or `unix:/path` (its SANDBOX_SOCKET). */
  SANDBOX_ADDR: sandboxAddrSchema.default('http://127.0.0.1:5000'),
  /** The sandbox's secret, sent as `Authorization: Bearer`; unset: read from SANDBOX_TOKEN_FILE. */
  SANDBOX_TOKEN: z.string().min(MIN_SECRET_LENGTH).regex(/^\S+$/, 'may not contain spaces').optional(),
  /** The token file the sandbox writes on first start. Default: {@link defaultSandboxTokenFile}. */
  SANDBOX_TOKEN_FILE: z.string().trim().min(1).optional(),
  /** Wall-clock limit asked for each run, ms. */
  RUN_TIMEOUT_MS: int(5000, 100),
  /** Memory asked for each run, MiB. */
  MAX_MEM_MB: int(128, 16),
  /** vCPUs asked for each run. */
  MAX_VCPUS: int(1, 1),
  /** Runs sent to the sandbox at once; more wait in the gateway's queue. */
  MAX_CONCURRENT_RUNS: int(4, 1),
  /** Runs waiting in the queue before `runCode` fails with capacity_exceeded. */
  MAX_QUEUED_RUNS: int(50, 0),
  /** Output kept per run to replay to late subscribers, bytes. */
  STREAM_REPLAY_BYTES: int(1024 * 1024, 1024),
  /** Bytes queued on one stream socket before it is closed with 4429. */
  STREAM_MAX_BUFFERED_BYTES: int(4 * 1024 * 1024, 1024),
  /** How long finished runs stay available on `/stream/<jobId>`, ms. */
  RUN_RETENTION_MS: int(5 * 60_000, 1000),
  /** Comma-separated browser origins allowed to call `/trpc` (CORS). */
  CORS_ORIGINS: originsSchema.default(['http://localhost:5173', 'http://127.0.0.1:5173']),
  /** Directory of the built frontend; default `../frontend/dist` when it exists. */
  FRONTEND_DIST: z.string().trim().min(1).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** SQLite file holding the rooms (created with its directory); `:memory:` keeps nothing. Default: {@link defaultCollabDb}. */
  COLLAB_DB: z.string().trim().min(1).optional(),
  /** Largest encoded room document, bytes; updates that would grow a room past it are refused. */
  MAX_ROOM_BYTES: int(5 * 1024 * 1024, 1024),
  /** Most files (`files` entries) a room may hold. */
  MAX_ROOM_FILES: int(100, 1),
});

/** The gateway's parsed, frozen configuration. */
export type GatewayConfig = Readonly<Omit<z.output<typeof envSchema>, 'COLLAB_DB' | 'SANDBOX_TOKEN_FILE'> & { COLLAB_DB: string; SANDBOX_TOKEN_FILE: string }>;

/** `$CODECELL_CACHE_DIR/sandbox.token`, else `sandbox.token` in the codecell cache directory (where the sandbox writes it). */
export function defaultSandboxTokenFile(env: Readonly<Record<string, string | undefined>>): string {
  const cache = env['CODECELL_CACHE_DIR'] || join(env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache'), 'codecell');
  return join(cache, 'sandbox.token');
}

/** `$XDG_CACHE_HOME/codecell/collab.sqlite`, else `~/.cache/codecell/collab.sqlite` (beside the guest image cache). */
export function defaultCollabDb(env: Readonly<Record<string, string | undefined>>): string {
  const cache = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(cache, 'codecell', 'collab.sqlite');
}

/** Thrown by {@link loadConfig}; `main.ts` prints it and exits with code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses `env` (default `process.env`). Empty strings count as unset.
 * @throws ConfigError naming every bad variable and the value it had.
 * @example
 * const config = loadConfig({ PORT: '0', SANDBOX_ADDR: '127.0.0.1:5001' });
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      return `  ${name}: ${i.message} (got ${JSON.stringify(env[name])})`;
    });
    throw new ConfigError(`invalid gateway configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze({
    ...parsed.data,
    CORS_ORIGINS: Object.freeze([...parsed.data.CORS_ORIGINS]),
    COLLAB_DB: parsed.data.COLLAB_DB ?? defaultCollabDb(env),
    SANDBOX_TOKEN_FILE: parsed.data.SANDBOX_TOKEN_FILE ?? defaultSandboxTokenFile(env),
  }) as GatewayConfig;
}
