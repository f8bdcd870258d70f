/**
 * Compiler diagnostics: the shape clients get (`diagnostics` run event, editor
 * markers) and a pure parser from the raw output of gcc/g++, go, rustc, tsc and
 * javac as they run in the guest (tested against output captured there).
 * @module
 */
import { z } from 'zod';
import { WORKSPACE_DIR } from './runtimes.js';
import type { RuntimeId } from './runtimes.js';

export const DIAGNOSTIC_SEVERITIES = ['error', 'warning', 'note'] as const;

/** One compiler message. `file` is relative to the workspace; null fields were not in the message. */
export const diagnosticSchema = z.strictObject({
  file: z.string().nullable(),
  /** 1-based. */
  line: z.int().positive().nullable(),
  /** 1-based, in characters of the line as the compiler counts them. */
  column: z.int().positive().nullable(),
  severity: z.enum(DIAGNOSTIC_SEVERITIES),
  message: z.string(),
  /** The compiler's own code, e.g. `TS2322`, `E0425`. */
  code: z.string().nullable(),
});
export type Diagnostic = z.infer<typeof diagnosticSchema>;
export type DiagnosticSeverity = Diagnostic['severity'];

/** At most this many diagnostics are parsed from one compile. */
export const MAX_DIAGNOSTICS = 200;

type Parser = (lines: readonly string[]) => Diagnostic[];

/** `./main.go`, `/workspace/a/b.c` → `main.go`, `a/b.c`. */
function workspacePath(p: string): string {
  let out = p.trim();
  if (out.startsWith(`${WORKSPACE_DIR}/`)) out = out.slice(WORKSPACE_DIR.length + 1);
  while (out.startsWith('./')) out = out.slice(2);
  return out;
}

function severityOf(word: string): DiagnosticSeverity {
  if (word.includes('error')) return 'error';
  if (word.includes('warning')) return 'warning';
  return 'note';
}

function diag(o: Partial<Diagnostic> & Pick<Diagnostic, 'severity' | 'message'>): Diagnostic {
  return { file: o.file ?? null, line: o.line ?? null, column: o.column ?? null, severity: o.severity, message: o.message, code: o.code ?? null };
}

const int = (s: string | undefined): number | null => (s ? Number(s) : null);

/** gcc and g++: `main.c:3:5: error: expected ';' …` (also `fatal error`, `warning`, `note`). */
const parseGcc: Parser = (lines) => {
  const out: Diagnostic[] = [];
  for (const line of lines) {
    const m = /^(.+?):(\d+):(?:(\d+):)? (fatal error|error|warning|note): (.*)$/.exec(line);
    if (m) {
      const [, file, ln, col, sev, message] = m;
      const code = /\[(-W[\w=+-]+)\]$/.exec(message ?? '')?.[1] ?? null;
      out.push(diag({ file: workspacePath(file ?? ''), line: int(ln), column: int(col), severity: severityOf(sev ?? ''), message: message ?? '', code }));
      continue;
    }
    // The linker: `main.c:(.text+0x5): undefined reference to `f'`, then `collect2: error: ld returned 1 exit status`.
    const ld = /^(?:\/usr\/bin\/ld: )?(?:\/tmp\/[^:]+\.o: )?(?:in function [^:]+:\s*)?(.+?):\(\.\w+(?:\+0x[0-9a-f]+)?\): (.*)$/.exec(line);
    if (ld) out.push(diag({ file: workspacePath(ld[1] ?? ''), severity: 'error', message: ld[2] ?? '' }));
  }
  return out;
};

/** go build: `./main.go:5:2: undefined: x`. */
const parseGo: Parser = (lines) => {
  const out: Diagnostic[] = [];
  for (const line of lines) {
    const m = /^(\S+\.go):(\d+):(?:(\d+):)? (.*)$/.exec(line);
    if (m) out.push(diag({ file: workspacePath(m[1] ?? ''), line: int(m[2]), column: int(m[3]), severity: 'error', message: m[4] ?? '' }));
  }
  return out;
};

/** rustc: a `error[E0425]: …` or `warning: …` head, then ` --> main.rs:2:20`. */
const parseRustc: Parser = (lines) => {
  const out: Diagnostic[] = [];
  let pending: Diagnostic | undefined;
  const flush = (): void => {
    if (pending && !/^aborting due to|^could not compile|^\d+ warnings? emitted/.test(pending.message)) out.push(pending);
    pending = undefined;
  };
  for (const line of lines) {
    const head = /^(error|warning|note)(?:\[(\w+)\])?: (.*)$/.exec(line);
    if (head) {
      flush();
      pending = diag({ severity: severityOf(head[1] ?? ''), code: head[2] ?? null, message: head[3] ?? '' });
      continue;
    }
    const at = /^\s*--> (.+?):(\d+):(\d+)$/.exec(line);
    if (at && pending && pending.file === null) {
      pending = { ...pending, file: workspacePath(at[1] ?? ''), line: int(at[2]), column: int(at[3]) };
    }
  }
  flush();
  return out;
};

/** tsc with `--pretty false`: `main.ts(1,7): error TS2322: …`, or `error TS6053: …` without a place. */
const parseTsc: Parser = (lines) => {
  const out: Diagnostic[] = [];
  for (const line of lines) {
    const m = /^(?:(.+?)\((\d+),(\d+)\): )?(error|warning|message) (TS\d+): (.*)$/.exec(line);
    if (!m) {
      // A message continued on indented lines (e.g. "Type A is not assignable… / Property x is missing").
      const last = out[out.length - 1];
      if (last && /^\s{2,}\S/.test(line)) out[out.length - 1] = { ...last, message: `${last.message}\n${line.trim()}` };
      continue;
    }
    out.push(
      diag({
        file: m[1] ? workspacePath(m[1]) : null,
        line: int(m[2]),
        column: int(m[3]),
        severity: m[4] === 'message' ? 'note' : severityOf(m[4] ?? ''),
        code: m[5] ?? null,
        message: m[6] ?? '',
      }),
    );
  }
  return out;
};

/** javac: `Main.java:3: error: ';' expected`, the source line, then a caret under the column. */
const parseJavac: Parser = (lines) => {
  const out: Diagnostic[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(.+?\.java):(\d+): (error|warning|note): (.*)$/.exec(lines[i] ?? '');
    if (!m) continue;
    let column: number | null = null;
    // The caret line follows the echoed source line (within the next few lines for multi-line messages).
    for (let j = i + 1; j < Math.min(lines.length, i + 6); j++) {
      const caret = /^(\s*)\^\s*$/.exec(lines[j] ?? '');
      if (caret) {
        column = (caret[1] ?? '').length + 1;
        break;
      }
      if (/^.+?\.java:\d+: /.test(lines[j] ?? '')) break;
    }
    out.push(diag({ file: workspacePath(m[1] ?? ''), line: int(m[2]), column, severity: severityOf(m[3] ?? ''), message: m[4] ?? '' }));
  }
  return out;
};

const PARSERS: Readonly<Partial<Record<RuntimeId, Parser>>> = {
  c: parseGcc,
  cpp: parseGcc,
  go: parseGo,
  rs: parseRustc,
  ts: parseTsc,
  java: parseJavac,
};

/**
 * Parses a compile stage's combined stdout and stderr into diagnostics, in
 * the compiler's order, at most {@link MAX_DIAGNOSTICS}. Pure: no I/O.
 *
 * @example
 * parseDiagnostics('c', "main.c:3:5: error: expected ';' before '}' token\n")
 * // [{ file: 'main.c', line: 3, column: 5, severity: 'error', message: "expected ';' before '}' token", code: null }]
 */
export function parseDiagnostics(runtime: RuntimeId, output: string): Diagnostic[] {
  const parser = PARSERS[runtime];
  if (!parser) return [];
  // Colour codes, should a compiler emit them anyway.
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split(/\r?\n/);
  return parser(lines).slice(0, MAX_DIAGNOSTICS);
}
