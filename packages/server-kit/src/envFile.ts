/**
 * `.env` files of the services (`gateway/.env`, `sandbox/.env`): read once at
 * start, before the configuration is parsed. A variable already set (to a
 * non-empty value) in the environment wins over the file, as with Node's own
 * `--env-file`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** What {@link loadEnvFile} did. */
export interface EnvFileResult {
  /** The file that was read. */
  readonly path: string;
  /** Variables taken from the file. */
  readonly applied: readonly string[];
  /** Variables the file sets but the environment already had (the environment won). */
  readonly overridden: readonly string[];
}

/** Thrown when a `.env` file exists but cannot be read. */
export class EnvFileError extends Error {
  override readonly name = 'EnvFileError';
}

/**
 * Reads `path` when it exists and copies each variable it sets into `env`
 * unless `env` already has it. Returns null when there is no such file
 * (and `required` is false).
 * @throws EnvFileError when the file exists but is not readable, or is required and missing
 * @example
 * const loaded = loadEnvFile(new URL('../.env', import.meta.url).pathname, process.env);
 */
export function loadEnvFile(path: string, env: Record<string, string | undefined>, required = false): EnvFileResult | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return null;
    throw new EnvFileError(`cannot read the settings file ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const applied: string[] = [];
  const overridden: string[] = [];
  for (const [key, value] of Object.entries(parseEnv(text))) {
    // Empty counts as unset, as in the services' configs.
    if (env[key] !== undefined && env[key] !== '') overridden.push(key);
    else {
      env[key] = value;
      applied.push(key);
    }
  }
  return { path, applied: applied.sort(), overridden: overridden.sort() };
}

/** One log line saying which file was read and what it set (names only: values may be secrets). */
export function describeEnvFile(result: EnvFileResult): string {
  const set = result.applied.length > 0 ? result.applied.join(', ') : 'nothing new';
  const won = result.overridden.length > 0 ? `; the environment overrides ${result.overridden.join(', ')}` : '';
  return `read settings from ${result.path}: ${set}${won}`;
}

/** Options of {@link loadServiceEnvFile}. */
export interface ServiceEnvFileOptions {
  /** The service's own `.env`, e.g. `<repo>/gateway/.env`. */
  readonly defaultPath: string;
  /** Variable naming another file instead (e.g. `GATEWAY_ENV_FILE`); that file must exist. */
  readonly overrideVar: string;
  readonly env: Record<string, string | undefined>;
}

/** Loads the service's `.env` (or the file `overrideVar` names) into `env`. */
export function loadServiceEnvFile(o: ServiceEnvFileOptions): EnvFileResult | null {
  const explicit = o.env[o.overrideVar];
  return explicit ? loadEnvFile(explicit, o.env, true) : loadEnvFile(o.defaultPath, o.env);
}
