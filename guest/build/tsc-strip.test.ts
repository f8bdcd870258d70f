/**
 * guest/SPEC.md 5.4: the declaration files tsc reads in the guest are copies
 * without doc comments. Checked here with the project's own TypeScript and
 * @types/node (the image uses Debian's; the build step runs the same code):
 * the copies keep every line and `/// <reference>`, lose the comments, and a
 * program full of type errors against the lib and node gets exactly the same
 * diagnostics from either set.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ts from 'typescript';

const require = createRequire(import.meta.url);
// The script is CommonJS in the image; this package is an ES module one, so load a .cjs copy.
const dir = mkdtempSync(join(tmpdir(), 'cc-tsc-strip-'));
copyFileSync(join(import.meta.dirname, '..', 'runtime', 'tsc-strip.js'), join(dir, 'tsc-strip.cjs'));
const { strip, stripAll } = require(join(dir, 'tsc-strip.cjs')) as {
  strip: (t: typeof ts, fileName: string, text: string) => string;
  stripAll: (t: typeof ts, o: { libDir: string; typesDir: string; outLib: string; outTypes: string }) => { lib: { before: number; after: number }; types: { before: number; after: number } };
};

const libDir = dirname(require.resolve('typescript/lib/lib.d.ts'));
const typesDir = dirname(dirname(require.resolve('@types/node/package.json')));

const PROGRAM = [
  "import * as fs from 'fs';",
  "import { createInterface } from 'readline';",
  "const s: number = fs.readFileSync(0, 'utf8');",
  'const rl = createInterface({ input: process.stdin });',
  "rl.on('line', (l: number) => console.log(l));",
  "const b = Buffer.from('x'); b.foo();",
  'const m = new Map<string, number>(); m.set(1, 2);',
  '[1, 2].flatMap((x) => [x]).at(-1).toFixed();',
  'const p: Promise<string> = Promise.resolve(1);',
  "const u = 'abc'.replaceAll('a', 1);",
  "setTimeout(() => {}, 'x');",
  'export { s, p, u };',
  '',
].join('\n');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function diagnostics(file: string, types: string, lib?: string): string {
  const cmd = ts.parseCommandLine(['--noEmit', '--target', 'es2022', '--module', 'commonjs', '--skipLibCheck', '--lib', 'es2022', '--types', 'node', '--typeRoots', types, '--pretty', 'false', file]);
  const host = ts.createCompilerHost(cmd.options);
  if (lib) {
    host.getDefaultLibLocation = () => lib;
    host.getDefaultLibFileName = (o) => join(lib, ts.getDefaultLibFileName(o));
  }
  const program = ts.createProgram(cmd.fileNames, cmd.options, host);
  const read = program.getSourceFiles().map((f) => f.fileName);
  if (lib) expect(read.filter((f) => f.startsWith(libDir) || f.startsWith(typesDir))).toEqual([]);
  const fh = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' };
  return ts.formatDiagnostics(ts.getPreEmitDiagnostics(program), fh);
}

describe('tsc-strip (guest/SPEC.md 5.4)', () => {
  it('removes JSDoc comments and keeps every line, line comment and reference directive', () => {
    const text = ['/// <reference lib="es2020" />', '/**', ' * Adds.', ' * @param a first', ' */', 'declare function add(a: number): number; // why', "declare const s: '/** not a comment */';", ''].join('\n');
    const out = strip(ts, 'x.d.ts', text);
    expect(out.split('\n')).toHaveLength(text.split('\n').length);
    expect(out).toContain('/// <reference lib="es2020" />');
    expect(out).toContain('// why');
    expect(out).toContain("'/** not a comment */'");
    expect(out).not.toContain('Adds.');
  });

  it('gives a program the same diagnostics as the originals, from less than half the bytes', { timeout: 60_000 }, () => {
    const out = join(dir, 'stripped');
    const sizes = stripAll(ts, { libDir, typesDir, outLib: join(out, 'lib'), outTypes: join(out, 'types') });
    expect(sizes.types.after).toBeLessThan(sizes.types.before * 0.6);
    const index = 'node/index.d.ts';
    expect(readFileSync(join(out, 'types', index), 'utf8').match(/^\/\/\/ <reference/gm)?.length).toBe(readFileSync(join(typesDir, index), 'utf8').match(/^\/\/\/ <reference/gm)?.length);
    const file = join(dir, 'main.ts');
    writeFileSync(file, PROGRAM);
    const original = diagnostics(file, typesDir);
    expect(original.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(8);
    expect(diagnostics(file, join(out, 'types'), join(out, 'lib'))).toBe(original);
  });
});
