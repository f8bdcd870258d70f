/**
 * Renders a runtime's compile and run commands (protocol's runtime table) into
 * the real argv of each stage for one request: which workspace files are the
 * build's sources, the Java class named by the entry, the memory flags, the
 * flags that only help under TCG. Pure, so every argv is unit-tested.
 * @module
 */
import { BUILD_DIR, CodeCellError, RUNTIMES, WORKSPACE_DIR } from '@codecell/protocol';
import type { ExecStage, RuntimeId, RuntimeSpec, StageCommand, StageName } from '@codecell/protocol';

/** One stage of a planned run: the agent's exec stage plus the host's own limit. */
export interface PlannedStage extends Omit<ExecStage, 'memoryBytes'> {
  readonly memoryMb: number;
  /** Wall-clock limit of this stage, enforced by the host from the moment the guest says it started. */
  readonly timeoutMs: number;
}

export interface StageInput {
  readonly runtime: RuntimeId;
  readonly entry: string;
  /** Every workspace path of the request, the entry included. */
  readonly paths: readonly string[];
  readonly acceleration: 'kvm' | 'tcg' | 'none';
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly compileMemoryMb: number;
  readonly compileTimeoutMs: number;
  /** Command-line arguments given to the program: appended to the run stage's argv (Piston's `args`). */
  readonly args?: readonly string[];
}

function extOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The build's source files, the entry first: every file of the language (or of the entry's directory, for Go). */
export function sourceFiles(spec: RuntimeSpec, entry: string, paths: readonly string[]): string[] {
  const { extensions, scope, exclude = [] } = spec.sources;
  if (scope === 'entry') return [entry];
  const wanted = (p: string): boolean =>
    extensions.includes(extOf(p)) && !exclude.some((suffix) => p.endsWith(suffix)) && (scope === 'all' || dirOf(p) === dirOf(entry));
  return [entry, ...paths.filter((p) => p !== entry && wanted(p)).sort()];
}

/** `com/example/Main.java` → `com.example.Main`. */
export function javaClassOf(entry: string): string {
  const cls = entry.replace(/\.java$/, '').split('/').join('.');
  if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(cls)) {
    throw new CodeCellError('invalid_path', `entry "${entry}" does not name a Java class (e.g. Main.java or com/example/Main.java)`);
  }
  return cls;
}

interface RenderContext {
  readonly vars: Readonly<Record<string, string>>;
  readonly sources: readonly string[];
  readonly tcg: boolean;
}

function render(cmd: StageCommand, ctx: RenderContext): { argv: string[]; prefixShift: number } {
  const argv: string[] = [];
  for (const arg of cmd.argv) {
    if (arg === '{sources}') argv.push(...ctx.sources);
    else argv.push(arg.replace(/\{(\w+)\}/g, (m, name: string) => ctx.vars[name] ?? m));
  }
  const extra = ctx.tcg ? (cmd.tcgArgs ?? []) : [];
  argv.splice(1, 0, ...extra);
  return { argv, prefixShift: extra.length };
}

/** The stages of one run of `input.runtime`, in order (compile first when the language has one). */
export function planStages(input: StageInput): PlannedStage[] {
  const spec = RUNTIMES[input.runtime];
  if (spec.compile && !spec.sources.extensions.includes(extOf(input.entry))) {
    throw new CodeCellError('invalid_request', `entry "${input.entry}" is not a ${spec.name} source file (${spec.sources.extensions.join(', ')})`);
  }
  const sources = sourceFiles(spec, input.entry, input.paths);
  const vars: Record<string, string> = {
    entry: input.entry,
    entryPath: `${WORKSPACE_DIR}/${input.entry}`,
    entryStem: input.entry.replace(/\.[^./]+$/, ''),
    build: BUILD_DIR,
    memoryMb: String(input.memoryMb),
  };
  if (input.runtime === 'java') vars['class'] = javaClassOf(input.entry);
  const ctx: RenderContext = { vars, sources, tcg: input.acceleration === 'tcg' };
  const stage = (name: StageName, cmd: StageCommand, limits: { memoryMb: number; timeoutMs: number }): PlannedStage => {
    const { argv, prefixShift } = render(cmd, ctx);
    return {
      name,
      argv,
      env: { ...cmd.env },
      ...limits,
      ...(cmd.warm ? { warm: { kind: cmd.warm.kind, prefix: cmd.warm.prefix + prefixShift } } : {}),
    };
  };
  const stages: PlannedStage[] = [];
  if (spec.compile) stages.push(stage('compile', spec.compile, { memoryMb: input.compileMemoryMb, timeoutMs: input.compileTimeoutMs }));
  const run = stage('run', spec.run, { memoryMb: input.memoryMb, timeoutMs: input.timeoutMs });
  stages.push(input.args && input.args.length > 0 ? { ...run, argv: [...run.argv, ...input.args] } : run);
  return stages;
}
