/**
 * The one runtime table: every language CodeCell runs, with its ids, aliases,
 * file extensions, editor mode, compile and run commands and default limits.
 * The request schema, the agent's exec frame, `GET /runtimes`, the default
 * entry files and the new-room templates all derive from it (DESIGN.md section 4).
 * Versions are not here: the guest image build reads them from the Debian
 * packages it installs and ships them in the image's manifest.
 * @module
 */
import { z } from 'zod';

/** Runtime ids, exactly as the API takes them. */
export const RUNTIME_IDS = ['py', 'js', 'ts', 'go', 'c', 'cpp', 'rs', 'java', 'rb', 'sh'] as const;
export type RuntimeId = (typeof RUNTIME_IDS)[number];

/** The directory programs run in inside the guest. */
export const WORKSPACE_DIR = '/workspace';
/** Where a run's compiled output lives in the guest (emptied after each run, like all of /tmp). */
export const BUILD_DIR = '/tmp/.codecell-build';

/**
 * Kinds of process the guest agent can start ahead of a request (guest/SPEC.md 3.6):
 * `python` forks its own pre-imported interpreter; the others are processes of
 * the stage's runtime that were started with the stage's leading argv and wait
 * for the rest of it.
 */
export const WARM_KINDS = ['python', 'node', 'ruby', 'java'] as const;
export type WarmKind = (typeof WARM_KINDS)[number];

/**
 * One stage's command. `argv` items are templates: `{sources}` alone expands to
 * every source file of the build; inside an item `{entry}` (path relative to
 * the workspace), `{entryPath}` (absolute), `{entryStem}` (entry without its
 * extension), `{class}` (Java class named by the entry), `{build}` and
 * `{memoryMb}` are replaced.
 */
export interface StageCommand {
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Inserted after `argv[0]` under TCG emulation, where a JIT's code generation is what costs most. */
  readonly tcgArgs?: readonly string[];
  /** The stage may run in a process started ahead of time with `argv.slice(0, prefix)` (plus `tcgArgs`). */
  readonly warm?: { readonly kind: WarmKind; readonly prefix: number };
}

/** Which workspace files go into a build. */
export type SourceScope = 'entry' | 'entryDir' | 'all';

/** Which files of the workspace are a build's `{sources}`. */
export interface SourceSelection {
  readonly extensions: readonly string[];
  readonly scope: SourceScope;
  /** File name endings never passed to the compiler (Go's tests). */
  readonly exclude?: readonly string[];
}

/** One row of the runtime table. */
export interface RuntimeSpec {
  readonly id: RuntimeId;
  /** Display name, e.g. "C++". */
  readonly name: string;
  /** Other names `language` accepts (lower case). */
  readonly aliases: readonly string[];
  /** File extensions of the language, the canonical one first (for the editor's mode per file). */
  readonly extensions: readonly string[];
  /** Monaco language id. */
  readonly monaco: string;
  /** Default entry file. */
  readonly entry: string;
  /** Files whose extension is one of these (within `scope`) are passed to the compiler as `{sources}`. */
  readonly sources: SourceSelection;
  readonly compile?: StageCommand;
  readonly run: StageCommand;
  /** Defaults of the compile stage's limits, where they differ from {@link DEFAULT_COMPILE_LIMITS}. */
  readonly limits?: Partial<CompileLimits>;
}

/** Limits of a compile stage, separate from the run's. */
export interface CompileLimits {
  /** Wall-clock limit of the compile, ms, on a KVM host (see {@link TCG_COMPILE_TIMEOUT_FACTOR}). */
  readonly compileTimeoutMs: number;
  /** Memory of the compiler (guest cgroup `memory.max`), MiB. */
  readonly compileMemoryMb: number;
}

/**
 * Compile limits every compiled runtime starts from. 256 MiB: hello world
 * peaked at 34 (go build) to 155 MiB (tsc) of anonymous memory, 361 MiB with
 * the compiler's own files first read into the page cache (rustc), which the
 * cgroup reclaims before it kills (measured with the image's toolchains).
 */
export const DEFAULT_COMPILE_LIMITS: CompileLimits = Object.freeze({ compileTimeoutMs: 10_000, compileMemoryMb: 256 });
/** Under TCG emulation (no KVM) the default compile timeout is this many times longer. */
export const TCG_COMPILE_TIMEOUT_FACTOR = 2;

/** The default compile limits of a runtime on a host with the given acceleration. */
export function defaultCompileLimits(id: RuntimeId, acceleration: 'kvm' | 'tcg' | 'none'): CompileLimits {
  const l = { ...DEFAULT_COMPILE_LIMITS, ...RUNTIMES[id].limits };
  return acceleration === 'tcg' ? { ...l, compileTimeoutMs: l.compileTimeoutMs * TCG_COMPILE_TIMEOUT_FACTOR } : l;
}

const JAVA = '/usr/lib/jvm/java-17-openjdk-amd64/bin/java';
/** Serial GC (no GC threads to start), the JDK's class-data archive, no hsperfdata file in /tmp. */
const JVM = [JAVA, '-XX:+UseSerialGC', '-Xshare:auto', '-XX:-UsePerfData'];
/** C1 only, one compiler thread: C2's code generation dominates short runs (57 s vs 13 s for javac under TCG). */
const JVM_TCG = ['-XX:TieredStopAtLevel=1', '-XX:CICompilerCount=1'];
const GO_ENV = { GOCACHE: '/var/cache/codecell/go', GOPATH: '/tmp/.codecell-go/path', GO111MODULE: 'off' };

/** The runtime table, in the order of {@link RUNTIME_IDS}. */
export const RUNTIMES: Readonly<Record<RuntimeId, RuntimeSpec>> = Object.freeze({
  py: {
    id: 'py',
    name: 'Python',
    aliases: ['python', 'python3', 'py3'],
    extensions: ['.py'],
    monaco: 'python',
    entry: 'main.py',
    sources: { extensions: ['.py'], scope: 'entry' },
    run: { argv: ['/usr/bin/python3', '-u', '{entry}'], warm: { kind: 'python', prefix: 2 } },
  },
  js: {
    id: 'js',
    name: 'JavaScript',
    aliases: ['javascript', 'node', 'nodejs'],
    extensions: ['.js', '.cjs', '.mjs'],
    monaco: 'javascript',
    entry: 'main.js',
    sources: { extensions: ['.js'], scope: 'entry' },
    run: { argv: ['/usr/bin/node', '{entryPath}'], warm: { kind: 'node', prefix: 1 } },
  },
  ts: {
    id: 'ts',
    name: 'TypeScript',
    aliases: ['typescript', 'tsc'],
    extensions: ['.ts', '.mts', '.cts'],
    monaco: 'typescript',
    entry: 'main.ts',
    sources: { extensions: ['.ts'], scope: 'all' },
    compile: {
      // tsc through the compiler API; warm, it has the compiler and its lib files loaded already (guest/SPEC.md 5.4).
      argv: [
        '/usr/bin/node',
        '/usr/lib/codecell/tsc-driver.js',
        '--outDir',
        '{build}/ts',
        '--rootDir',
        '.',
        '--target',
        'es2022',
        '--module',
        'commonjs',
        '--esModuleInterop',
        '--skipLibCheck',
        '--lib',
        'es2022',
        '--types',
        'node',
        '--typeRoots',
        // Debian's @types/node without its doc comments (guest/runtime/tsc-strip.js), as the driver's lib files.
        '/usr/lib/codecell/tsc/types',
        '--pretty',
        'false',
        '{sources}',
      ],
      // V8's JIT is what TCG emulates worst: tsc takes half the time without it there (56 vs 118 s for a cold
      // hello world). Programs keep the JIT (a loop ran 25% slower jitless, and jitless has no WebAssembly).
      tcgArgs: ['--jitless'],
      warm: { kind: 'node', prefix: 1 },
    },
    run: { argv: ['/usr/bin/node', '{build}/ts/{entryStem}.js'], warm: { kind: 'node', prefix: 1 } },
    // A cold tsc loads ~10 MB of compiler and parses its lib files first: 30 s, 60 s under TCG.
    limits: { compileTimeoutMs: 30_000 },
  },
  go: {
    id: 'go',
    name: 'Go',
    aliases: ['golang'],
    extensions: ['.go'],
    monaco: 'go',
    entry: 'main.go',
    sources: { extensions: ['.go'], scope: 'entryDir', exclude: ['_test.go'] },
    compile: { argv: ['/usr/lib/go-1.19/bin/go', 'build', '-o', '{build}/main', '{sources}'], env: GO_ENV },
    run: { argv: ['{build}/main'] },
  },
  c: {
    id: 'c',
    name: 'C',
    aliases: ['gcc'],
    extensions: ['.c', '.h'],
    monaco: 'c',
    entry: 'main.c',
    sources: { extensions: ['.c'], scope: 'all' },
    compile: { argv: ['/usr/bin/gcc', '-std=c17', '-O2', '-Wall', '-o', '{build}/main', '{sources}', '-lm'] },
    run: { argv: ['{build}/main'] },
  },
  cpp: {
    id: 'cpp',
    name: 'C++',
    aliases: ['c++', 'g++', 'cxx'],
    extensions: ['.cpp', '.cc', '.cxx', '.hpp', '.hh', '.hxx'],
    monaco: 'cpp',
    entry: 'main.cpp',
    sources: { extensions: ['.cpp', '.cc', '.cxx'], scope: 'all' },
    compile: { argv: ['/usr/bin/g++', '-std=c++20', '-O2', '-Wall', '-o', '{build}/main', '{sources}', '-lm'] },
    run: { argv: ['{build}/main'] },
  },
  rs: {
    id: 'rs',
    name: 'Rust',
    aliases: ['rust', 'rustc'],
    extensions: ['.rs'],
    monaco: 'rust',
    entry: 'main.rs',
    // rustc finds the other files itself through `mod` declarations.
    sources: { extensions: ['.rs'], scope: 'entry' },
    compile: { argv: ['/usr/bin/rustc', '--edition', '2021', '-o', '{build}/main', '{entry}'] },
    run: { argv: ['{build}/main'] },
  },
  java: {
    id: 'java',
    name: 'Java',
    aliases: ['javac', 'jdk'],
    extensions: ['.java'],
    monaco: 'java',
    entry: 'Main.java',
    sources: { extensions: ['.java'], scope: 'all' },
    compile: {
      argv: [...JVM, '-m', 'jdk.compiler/com.sun.tools.javac.Main', '-encoding', 'UTF-8', '-d', '{build}/classes', '{sources}'],
      tcgArgs: JVM_TCG,
      warm: { kind: 'java', prefix: JVM.length },
    },
    run: {
      argv: [...JVM, '-Xmx{memoryMb}m', '-cp', '{build}/classes', '{class}'],
      tcgArgs: JVM_TCG,
      warm: { kind: 'java', prefix: JVM.length + 1 },
    },
  },
  rb: {
    id: 'rb',
    name: 'Ruby',
    aliases: ['ruby'],
    extensions: ['.rb'],
    monaco: 'ruby',
    entry: 'main.rb',
    sources: { extensions: ['.rb'], scope: 'entry' },
    run: { argv: ['/usr/bin/ruby', '{entryPath}'], warm: { kind: 'ruby', prefix: 1 } },
  },
  sh: {
    id: 'sh',
    name: 'Bash',
    aliases: ['bash', 'shell'],
    extensions: ['.sh', '.bash'],
    monaco: 'shell',
    entry: 'main.sh',
    sources: { extensions: ['.sh'], scope: 'entry' },
    run: { argv: ['/bin/bash', '{entry}'] },
  },
});

const BY_NAME: ReadonlyMap<string, RuntimeId> = new Map(
  RUNTIME_IDS.flatMap((id) => [[id, id] as const, ...RUNTIMES[id].aliases.map((a) => [a, id] as const)]),
);

/** Every name `language` accepts: ids first, then aliases. */
export const LANGUAGE_NAMES: readonly string[] = Object.freeze([...BY_NAME.keys()]);

/** The runtime id for an id or alias (case-insensitive), or undefined. */
export function resolveRuntimeId(name: string): RuntimeId | undefined {
  return BY_NAME.get(name.trim().toLowerCase());
}

/** The runtime whose extensions include `path`'s, for the editor's mode per file. */
export function runtimeForPath(path: string): RuntimeSpec | undefined {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return undefined;
  const ext = path.slice(dot).toLowerCase();
  for (const id of RUNTIME_IDS) if (RUNTIMES[id].extensions.includes(ext)) return RUNTIMES[id];
  return undefined;
}

/** True when the language has a compile stage. */
export function isCompiled(id: RuntimeId): boolean {
  return RUNTIMES[id].compile !== undefined;
}

/**
 * `language` of a run: an id or alias, normalised to the id. An unknown name
 * fails with zod's `invalid_value` at `language`, which the sandbox answers
 * with `unsupported_language`, listing {@link LANGUAGE_NAMES}.
 */
export const languageSchema = z
  .string()
  .transform((s) => resolveRuntimeId(s) ?? s)
  .pipe(z.enum(RUNTIME_IDS));
export type Language = RuntimeId;

/** Entry of `GET /runtimes` (and the base of the gateway's and compatible APIs' lists). */
export const runtimeInfoSchema = z.strictObject({
  id: z.enum(RUNTIME_IDS),
  name: z.string(),
  /** Upstream version read from the guest image's manifest, e.g. "3.11.2". */
  version: z.string(),
  aliases: z.array(z.string()),
  extensions: z.array(z.string()),
  monaco: z.string(),
  entry: z.string(),
  compiled: z.boolean(),
});
export type RuntimeInfo = z.infer<typeof runtimeInfoSchema>;

/** Body of `GET /runtimes`. */
export const runtimesResponseSchema = z.strictObject({ runtimes: z.array(runtimeInfoSchema) });
export type RuntimesResponse = z.infer<typeof runtimesResponseSchema>;

/** The `GET /runtimes` entries for the versions an image reports (missing versions become "unknown"). */
export function runtimeInfos(versions: Readonly<Partial<Record<RuntimeId, string>>>): RuntimeInfo[] {
  return RUNTIME_IDS.map((id) => {
    const r = RUNTIMES[id];
    return {
      id,
      name: r.name,
      version: versions[id] ?? 'unknown',
      aliases: [...r.aliases],
      extensions: [...r.extensions],
      monaco: r.monaco,
      entry: r.entry,
      compiled: r.compile !== undefined,
    };
  });
}
