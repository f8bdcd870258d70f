// CodeCell's tsc (guest/SPEC.md 5.4): takes tsc's command line, prints
// diagnostics and exits the way tsc does, through the TypeScript compiler API.
// Run cold as `node tsc-driver.js <tsc args>`, or primed in a warm node
// (node-warm.js): prime() loads the compiler and parses the lib and
// @types/node declarations once, and every compile of that process reuses them.
'use strict';
const ts = require('/usr/share/nodejs/typescript/lib/typescript.js');
const fs = require('fs');

/** The lib files without their doc comments, made when the image is built (tsc-strip.js). */
const STRIPPED_LIB = '/usr/lib/codecell/tsc/lib';
const libLocation = fs.existsSync(`${STRIPPED_LIB}/lib.d.ts`) ? STRIPPED_LIB : undefined;

/** Parsed declaration files outside the workspace (read-only image files), shared by compiles. */
const cache = new Map();
function cachingHost(options) {
  const host = ts.createCompilerHost(options);
  if (libLocation) {
    host.getDefaultLibLocation = () => libLocation;
    host.getDefaultLibFileName = (o) => `${libLocation}/${ts.getDefaultLibFileName(o)}`;
  }
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!fileName.startsWith('/usr/')) return getSourceFile.call(host, fileName, languageVersion, onError, shouldCreate);
    const key = `${fileName}\0${JSON.stringify(languageVersion)}`;
    let sf = cache.get(key);
    if (!sf) {
      sf = getSourceFile.call(host, fileName, languageVersion, onError, shouldCreate);
      if (sf) cache.set(key, sf);
    }
    return sf;
  };
  return host;
}

/** Compiles like `tsc <args>`; returns tsc's exit status. */
function compile(args, out) {
  const cmd = ts.parseCommandLine(args);
  const formatHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
  if (cmd.errors.length > 0) {
    out(ts.formatDiagnostics(cmd.errors, formatHost));
    return 1;
  }
  if (cmd.options.version) {
    out(`Version ${ts.version}\n`);
    return 0;
  }
  const program = ts.createProgram(cmd.fileNames, cmd.options, cachingHost(cmd.options));
  const emitted = program.emit();
  const diagnostics = ts.sortAndDeduplicateDiagnostics([...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics]);
  if (diagnostics.length > 0) out(ts.formatDiagnostics(diagnostics, formatHost));
  const errors = diagnostics.some((d) => d.category === ts.DiagnosticCategory.Error);
  return errors ? (emitted.emitSkipped ? 1 : 2) : 0;
}

const PRIME_ARGS = ['--noEmit', '--target', 'es2022', '--module', 'commonjs', '--esModuleInterop', '--skipLibCheck', '--lib', 'es2022', '--types', 'node', '--typeRoots', '/usr/lib/codecell/tsc/types'];

/** Loads and exercises the compiler with the runtime table's options, on a file that exists only in memory. */
function prime() {
  const file = '/codecell-prime.ts';
  const source = 'const n: number = Math.max(1, 2);\nconsole.log(n, process.argv.length);\n';
  const cmd = ts.parseCommandLine([...PRIME_ARGS, file]);
  const host = cachingHost(cmd.options);
  const read = host.getSourceFile;
  const exists = host.fileExists;
  host.getSourceFile = (f, v, e, c) => (f === file ? ts.createSourceFile(f, source, v) : read.call(host, f, v, e, c));
  host.fileExists = (f) => f === file || exists.call(host, f);
  ts.getPreEmitDiagnostics(ts.createProgram(cmd.fileNames, cmd.options, host));
}

/** Entry point: compile `args` and set the exit code (used by the warm launcher too). */
function main(args) {
  process.exitCode = compile(args, (s) => fs.writeSync(1, s));
}

module.exports = { prime, main };
if (require.main === module) main(process.argv.slice(2));
