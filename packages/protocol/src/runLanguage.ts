/**
 * Which runtime runs an entry file. The file's extension decides (the runtime
 * table's `extensions`: `main.go` is Go) unless it cannot: a file without a
 * known extension (`run`, `notes.txt`) can run as any language, and a C header
 * (`.h`) as C or C++. There an explicit choice decides; where the extension
 * names one runtime, choosing another one is refused (it cannot be right: the
 * other runtime's compiler would not even see the file).
 * @module
 */
import { RUNTIMES, RUNTIME_IDS, runtimeForPath } from './runtimes.js';
import type { RuntimeId } from './runtimes.js';

/** Extensions the files of more than one runtime use: C headers are C++ headers too. */
const SHARED_EXTENSIONS: Readonly<Record<string, readonly RuntimeId[]>> = Object.freeze({ '.h': ['c', 'cpp'] });

/** True for a runtime id (`go`), not an alias: what reading a stored or client-written id (`meta.language`) needs. */
export function isRuntimeId(value: unknown): value is RuntimeId {
  return typeof value === 'string' && (RUNTIME_IDS as readonly string[]).includes(value);
}

/** `src/Main.JAVA` → `.java`; null without an extension (`run`, `.bashrc`, `a.d/run`). */
export function extensionOf(path: string): string | null {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? null : name.slice(dot).toLowerCase();
}

/**
 * The runtimes that can run `entry`: the one its extension names (C and C++
 * for `.h`), or every runtime when the extension names none.
 * @example
 * runtimesForEntry('main.go') // ['go']
 * runtimesForEntry('run').length // 10
 */
export function runtimesForEntry(entry: string): readonly RuntimeId[] {
  const ext = extensionOf(entry);
  if (ext === null) return RUNTIME_IDS;
  const shared = SHARED_EXTENSIONS[ext];
  if (shared) return shared;
  const own = runtimeForPath(entry);
  return own ? [own.id] : RUNTIME_IDS;
}

/**
 * Why `language` cannot run `entry` (what to change), or null when it can.
 * @example languageMismatch('main.go', 'py') // 'entry main.go is a Go file (.go), so it cannot run as Python (py): …'
 */
export function languageMismatch(entry: string, language: RuntimeId): string | null {
  const fits = runtimesForEntry(entry);
  if (fits.includes(language)) return null;
  const names = fits.map((id) => `${RUNTIMES[id].name}`).join(' or ');
  const ids = fits.map((id) => `"${id}"`).join(' or ');
  const ext = extensionOf(entry) ?? '';
  return (
    `entry ${entry} is a ${names} file (${ext}), so it cannot run as ${RUNTIMES[language].name} (${language}): ` +
    `give language ${ids} (or leave it out: the extension decides), or rename the file to end in ${RUNTIMES[language].extensions[0] ?? ''}`
  );
}

/**
 * The language a run of `entry` uses: `preferred` (an explicit choice, or the
 * room's `meta.language`) when it can run the file, else the runtime the
 * extension names, else Python (the seed's default).
 * @example
 * runLanguage('src/main.rs') // 'rs'
 * runLanguage('run', 'sh') // 'sh'
 * runLanguage('main.go', 'py') // 'go' (the extension wins over a stale preference)
 */
export function runLanguage(entry: string | undefined, preferred?: RuntimeId): RuntimeId {
  if (entry === undefined) return preferred ?? 'py';
  const fits = runtimesForEntry(entry);
  if (preferred !== undefined && fits.includes(preferred)) return preferred;
  return fits.includes('py') ? 'py' : (fits[0] ?? 'py');
}
