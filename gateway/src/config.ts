/**
 * The gateway's configuration: `process.env` parsed once at start. A bad value
 * fails fast with a message naming the variable. Nothing else reads `process.env`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { MIN_SECRET_LENGTH } from '@codecell/server-kit';
import { AUTH_MODES, DEFAULT_MAX_FILE_BYTES, DEFAULT_REDIS_PREFIX } from '@codecell/protocol';
import { redisAddress } from '@codecell/redis-kit';
import { isLoopbackHost } from './http/hosts.js';

const int = (def: number, min: number) => z.coerce.number().int().min(min).default(def);
/** Like {@link int} without a default: the default depends on other variables (see {@link loadConfig}). */
const optInt = (min: number) => z.coerce.number().int().min(min).optional();
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(def);

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

const list = z.string().transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o.length > 0));
const originsSchema = list.pipe(z.array(z.url({ protocol: /^https?$/ }).transform((o) => new URL(o).origin)));
/** `https://ide.example.org[/prefix]` without a trailing slash. */
const publicUrlSchema = z
  .url({ protocol: /^https?$/, message: 'expected the http(s):// URL people open, e.g. https://ide.example.org' })
  .transform((u) => u.replace(/\/+$/, ''));

/** REDIS_URL, checked the way the Redis client will read it. */
const redisUrlSchema = z.string().trim().superRefine((s, ctx) => {
  try {
    redisAddress(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
/** DATABASE_URL: a PostgreSQL connection URL. */
const databaseUrlSchema = z
  .string()
  .trim()
  .regex(/^postgres(ql)?:\/\//, 'expected postgresql://user:password@host:port/database (or ?host=/socket/dir)');
const idSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, _ . or -');

const envSchema = z.object({
  /** Port of the gateway's HTTP server (tRPC, streams, frontend). 0 picks a free port. */
  PORT: int(4000, 0).pipe(z.number().max(65535)),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** The URL people open (behind a reverse proxy: the proxy's). Its host is served; links and cookies are made for it. */
  PUBLIC_URL: publicUrlSchema.optional(),
  /** More host names to serve besides PUBLIC_URL's and the loopback names. */
  ALLOWED_HOSTS: list.pipe(z.array(z.string().regex(/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/, 'expected host names, without ports'))).default([]),
  /** Behind a reverse proxy: take the client's address from the last X-Forwarded-For entry. */
  TRUST_PROXY: bool(false),
  /** Where the sandbox listens: `host:port`, `http://host:port` or `unix:/path` (its SANDBOX_SOCKET). */
  SANDBOX_ADDR: sandboxAddrSchema.default('http://127.0.0.1:5000'),
  /** The sandbox's secret, sent as `Authorization: Bearer`; unset: read from SANDBOX_TOKEN_FILE. */
  SANDBOX_TOKEN: z.string().min(MIN_SECRET_LENGTH).regex(/^\S+$/, 'may not contain spaces').optional(),
  /** The token file the sandbox writes on first start. Default: {@link defaultSandboxTokenFile}. */
  SANDBOX_TOKEN_FILE: z.string().trim().min(1).optional(),
  /** Wall-clock limit of a run that asks for none, ms. */
  RUN_TIMEOUT_MS: int(5000, 100),
  /** Largest `limits.timeoutMs` a run may ask for, ms. */
  MAX_RUN_TIMEOUT_MS: int(60_000, 100),
  /** Largest memory a run may ask for, MiB; runs that ask for none get this. */
  MAX_MEM_MB: int(128, 16),
  /** Largest vCPU count a run may ask for; runs that ask for none get this. */
  MAX_VCPUS: int(1, 1),
  /** Runs waiting in the queue before `runCode` fails with capacity_exceeded. */
  MAX_QUEUED_RUNS: int(50, 0),
  /** Bytes of requests (files, stdin) the queue may hold before `runCode` fails with capacity_exceeded. */
  MAX_QUEUED_BYTES: int(64 * 1024 * 1024, 1024 * 1024),
  /** Output kept per run to replay to late subscribers, bytes. */
  STREAM_REPLAY_BYTES: int(1024 * 1024, 1024),
  /** Replay output kept by all finished runs together, bytes; the oldest runs are forgotten first. */
  MAX_RETAINED_REPLAY_BYTES: int(64 * 1024 * 1024, 1024),
  /** Bytes queued on one stream socket before it is closed with 4429. */
  STREAM_MAX_BUFFERED_BYTES: int(4 * 1024 * 1024, 1024),
  /** Stream sockets on one run / on the whole gateway; more are closed with 4429. */
  MAX_STREAM_SUBSCRIBERS_PER_RUN: int(64, 1),
  MAX_STREAM_SOCKETS: int(2048, 1),
  /** How long finished runs stay available on `/stream/<jobId>`, ms. */
  RUN_RETENTION_MS: int(5 * 60_000, 1000),
  /** Calls in one tRPC batch. */
  MAX_TRPC_BATCH: int(10, 1),
  /** A client must send its request headers within this, ms. */
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 100),
  /** A client must send its whole request within this, ms. */
  HTTP_REQUEST_TIMEOUT_MS: int(60_000, 100),
  /** Open TCP connections (HTTP and WebSocket) from one address; more are dropped at once. */
  MAX_CONNECTIONS_PER_ADDRESS: int(256, 1),
  /** Open WebSockets (/collab and /stream) from one address; more get HTTP 429. */
  MAX_WS_PER_ADDRESS: int(64, 1),
  /** Comma-separated browser origins allowed to call `/trpc` (CORS) and open WebSockets, besides the gateway's own. */
  CORS_ORIGINS: originsSchema.optional(),
  /** Directory of the built frontend; default `../frontend/dist` when it exists. */
  FRONTEND_DIST: z.string().trim().min(1).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** SQLite file holding rooms, accounts and quotas (created with its directory); `:memory:` keeps nothing. Default: {@link defaultCollabDb}. */
  COLLAB_DB: z.string().trim().min(1).optional(),
  /** Largest encoded room document, bytes; updates that would grow a room past it are refused. */
  MAX_ROOM_BYTES: int(5 * 1024 * 1024, 1024),
  /** Most files (`files` entries) a room may hold. */
  MAX_ROOM_FILES: int(100, 1),
  /** Largest binary file in a room (uploads, zip entries, files a run wrote), bytes; text files are bounded by MAX_ROOM_BYTES. */
  MAX_FILE_BYTES: int(DEFAULT_MAX_FILE_BYTES, 1),
  /** Also serve Piston v2 (`/api/v2/*`) on this port, as a Piston server would (it is always on PORT too). Unset: off. */
  PISTON_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Also serve Judge0 CE (`/submissions`, `/languages`…) on this port (it is always on PORT too). Unset: off. */
  JUDGE0_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** How long Judge0 submissions and their results are kept, hours. */
  JUDGE0_RETENTION_HOURS: int(24, 1),
  /** Unfinished Judge0 submissions per account (per address for guests); more get 503 "queue is full". */
  JUDGE0_MAX_QUEUE_SIZE: int(100, 1),
  /** `none` (one local user; loopback only), `local` (accounts) or `oidc` (OpenID Connect). */
  AUTH_MODE: z.enum(AUTH_MODES).default('none'),
  /** Allow AUTH_MODE=none on a non-loopback HOST: anyone who reaches the port can do anything. */
  ALLOW_INSECURE_NO_AUTH: bool(false),
  /** Anyone may create an account (local) or sign in for the first time (oidc). Default: false with local, true with oidc. */
  ALLOW_SIGNUP: z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes').optional(),
  /** How long a sign-in lasts, hours. */
  SESSION_TTL_HOURS: int(24 * 30, 1),
  /** Failed sign-ins per username (and ×5 per address) in 15 minutes before sign-in is refused with rate_limited. */
  SIGNIN_MAX_FAILURES: int(10, 1),
  /** AUTH_MODE=oidc: the provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`). */
  OIDC_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  OIDC_CLIENT_ID: z.string().trim().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_SCOPES: z.string().trim().min(1).default('openid profile email'),
  /** Per-user quotas (per address for guests); 0 = unlimited. Defaults: unlimited with AUTH_MODE=none, else the values in .env.example. */
  QUOTA_CONCURRENT_RUNS: optInt(0),
  QUOTA_RUNS_PER_MINUTE: optInt(0),
  QUOTA_CPU_SECONDS_PER_DAY: optInt(0),
  QUOTA_ROOMS: optInt(0),
  QUOTA_STORAGE_MB: optInt(0),
  /** Fleet mode: runs go through this Redis (BullMQ, Streams) to any number of sandbox hosts, rooms join across gateways. */
  REDIS_URL: redisUrlSchema.optional(),
  /** Key prefix of the fleet in Redis; every gateway and sandbox host of one fleet uses the same. */
  REDIS_PREFIX: idSchema.default(DEFAULT_REDIS_PREFIX),
  /** This gateway's name in the fleet (health, metrics, Redis client names). Default: random at each start. */
  GATEWAY_ID: idSchema.optional(),
  /** PostgreSQL instead of SQLite (COLLAB_DB) for rooms, accounts and quotas; needed for two gateways or more. */
  DATABASE_URL: databaseUrlSchema.optional(),
  /** Connections to PostgreSQL per gateway. */
  DATABASE_POOL_SIZE: int(10, 1),
  /** `GET /metrics` (Prometheus) wants `Authorization: Bearer <this>`; unset: served to loopback clients only (and not behind TRUST_PROXY). */
  METRICS_TOKEN: z.string().min(MIN_SECRET_LENGTH).regex(/^\S+$/, 'may not contain spaces').optional(),
});

/** Every variable the gateway reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape));
/** `$CODECELL_CACHE_DIR/sandbox.token`, else `sandbox.token` in the codecell cache directory (where the sandbox writes it). */
export function defaultSandboxTokenFile(env: Readonly<Record<string, string | undefined>>): string {
  const cache = env['CODECELL_CACHE_DIR'] || join(env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache'), 'codecell');
  return join(cache, 'sandbox.token');
}

/** Quotas with AUTH_MODE=local or oidc unless set (0 = unlimited). */
export const HOSTED_QUOTA_DEFAULTS = Object.freeze({
  QUOTA_CONCURRENT_RUNS: 2,
  QUOTA_RUNS_PER_MINUTE: 30,
  QUOTA_CPU_SECONDS_PER_DAY: 1800,
  QUOTA_ROOMS: 50,
  QUOTA_STORAGE_MB: 200,
});

/** The dev frontend's origins (Vite on :5173), allowed by default on a loopback HOST. */
export const DEV_FRONTEND_ORIGINS = Object.freeze(['http://localhost:5173', 'http://127.0.0.1:5173']);

type Parsed = z.output<typeof envSchema>;
type QuotaKey = keyof typeof HOSTED_QUOTA_DEFAULTS;

/** The gateway's parsed, frozen configuration (defaults that depend on other variables resolved). */
export type GatewayConfig = Readonly<
  Omit<Parsed, 'COLLAB_DB' | 'SANDBOX_TOKEN_FILE' | 'CORS_ORIGINS' | 'ALLOW_SIGNUP' | 'ALLOWED_HOSTS' | 'GATEWAY_ID' | QuotaKey> & {
    COLLAB_DB: string;
    GATEWAY_ID: string;
    SANDBOX_TOKEN_FILE: string;
    CORS_ORIGINS: readonly string[];
    ALLOWED_HOSTS: readonly string[];
    ALLOW_SIGNUP: boolean;
  } & Record<QuotaKey, number>
>;

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
  const c = parsed.data;
  const problems = crossChecks(c);
  if (problems.length > 0) throw new ConfigError(`invalid gateway configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const hosted = c.AUTH_MODE !== 'none';
  const quota = (key: QuotaKey): number => c[key] ?? (hosted ? HOSTED_QUOTA_DEFAULTS[key] : 0);
  return Object.freeze({
    ...c,
    CORS_ORIGINS: Object.freeze([...(c.CORS_ORIGINS ?? (isLoopbackHost(c.HOST) ? DEV_FRONTEND_ORIGINS : []))]),
    ALLOWED_HOSTS: Object.freeze([...c.ALLOWED_HOSTS]),
    ALLOW_SIGNUP: c.ALLOW_SIGNUP ?? c.AUTH_MODE === 'oidc',
    COLLAB_DB: c.COLLAB_DB ?? defaultCollabDb(env),
    GATEWAY_ID: c.GATEWAY_ID ?? `gw-${randomBytes(4).toString('hex')}`,
    SANDBOX_TOKEN_FILE: c.SANDBOX_TOKEN_FILE ?? defaultSandboxTokenFile(env),
    QUOTA_CONCURRENT_RUNS: quota('QUOTA_CONCURRENT_RUNS'),
    QUOTA_RUNS_PER_MINUTE: quota('QUOTA_RUNS_PER_MINUTE'),
    QUOTA_CPU_SECONDS_PER_DAY: quota('QUOTA_CPU_SECONDS_PER_DAY'),
    QUOTA_ROOMS: quota('QUOTA_ROOMS'),
    QUOTA_STORAGE_MB: quota('QUOTA_STORAGE_MB'),
  });
}

/** Rules between variables; each problem names what to set. */
function crossChecks(c: Parsed): string[] {
  const problems: string[] = [];
  const loopback = isLoopbackHost(c.HOST);
  if (!loopback && c.AUTH_MODE === 'none' && !c.ALLOW_INSECURE_NO_AUTH) {
    problems.push(
      `AUTH_MODE: "none" lets anyone who reaches ${c.HOST}:${c.PORT} run code and read every room; set AUTH_MODE=local or oidc, bind HOST=127.0.0.1, or set ALLOW_INSECURE_NO_AUTH=true`,
    );
  }
  if (!loopback && c.PUBLIC_URL === undefined && c.ALLOWED_HOSTS.length === 0) {
    problems.push(`PUBLIC_URL: needed when HOST=${c.HOST} is not loopback: the URL people open (its host is the only one served)`);
  }
  if (c.AUTH_MODE === 'oidc') {
    if (c.OIDC_ISSUER === undefined) problems.push('OIDC_ISSUER: needed with AUTH_MODE=oidc (the provider\'s issuer URL)');
    if (c.OIDC_CLIENT_ID === undefined) problems.push('OIDC_CLIENT_ID: needed with AUTH_MODE=oidc (the client registered with the provider)');
  }
  const ports = [['PORT', c.PORT], ['PISTON_PORT', c.PISTON_PORT], ['JUDGE0_PORT', c.JUDGE0_PORT]] as const;
  for (const [i, [name, port]] of ports.entries()) {
    const clash = ports.slice(0, i).find(([, other]) => port !== undefined && port !== 0 && other === port);
    if (clash) problems.push(`${name}: ${port} is also ${clash[0]}; give each server its own port`);
  }
  if (c.RUN_TIMEOUT_MS > c.MAX_RUN_TIMEOUT_MS) problems.push(`RUN_TIMEOUT_MS: ${c.RUN_TIMEOUT_MS} is above MAX_RUN_TIMEOUT_MS=${c.MAX_RUN_TIMEOUT_MS}`);
  return problems;
}

/** Largest tRPC request body (and page stream message): two rooms' worth (JSON escaping) plus room for stdin and the envelope. */
export function maxTrpcBodyBytes(config: Pick<GatewayConfig, 'MAX_ROOM_BYTES'>): number {
  return 2 * config.MAX_ROOM_BYTES + 256 * 1024;
}
