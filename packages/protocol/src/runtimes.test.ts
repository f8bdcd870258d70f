import { describe, expect, it } from 'vitest';
import {
  LANGUAGE_NAMES,
  RUNTIMES,
  RUNTIME_IDS,
  defaultCompileLimits,
  helloTemplate,
  isCompiled,
  languageSchema,
  resolveRuntimeId,
  runRequestSchema,
  runtimeForPath,
  runtimeInfos,
  runtimesResponseSchema,
} from './index.js';

describe('runtime table', () => {
  it('has exactly the ten ids, each row keyed by its own id', () => {
    expect([...RUNTIME_IDS]).toEqual(['py', 'js', 'ts', 'go', 'c', 'cpp', 'rs', 'java', 'rb', 'sh']);
    for (const id of RUNTIME_IDS) expect(RUNTIMES[id].id).toBe(id);
  });

  it('accepts ids and the required aliases, normalised to the id, case-insensitively', () => {
    const expected: Record<string, string> = {
      python: 'py',
      python3: 'py',
      javascript: 'js',
      node: 'js',
      typescript: 'ts',
      golang: 'go',
      'c++': 'cpp',
      rust: 'rs',
      ruby: 'rb',
      bash: 'sh',
      Python: 'py',
      ' JAVA ': 'java',
    };
    for (const [name, id] of Object.entries(expected)) {
      expect(resolveRuntimeId(name), name).toBe(id);
      expect(languageSchema.parse(name)).toBe(id);
    }
    for (const id of RUNTIME_IDS) expect(languageSchema.parse(id)).toBe(id);
    expect(runRequestSchema.parse({ language: 'c++', source: '' }).language).toBe('cpp');
  });

  it('rejects an unknown language with invalid_value at `language` (mapped to unsupported_language)', () => {
    const r = runRequestSchema.safeParse({ language: 'cobol', source: '' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ code: 'invalid_value', path: ['language'] });
    expect(languageSchema.safeParse(7).success).toBe(false);
  });

  it('gives every alias to one runtime only, and every extension to one runtime only', () => {
    expect(new Set(LANGUAGE_NAMES).size).toBe(LANGUAGE_NAMES.length);
    const exts = RUNTIME_IDS.flatMap((id) => RUNTIMES[id].extensions);
    expect(new Set(exts).size).toBe(exts.length);
  });

  it('maps files to runtimes by extension (the editor mode per file)', () => {
    expect(runtimeForPath('main.py')?.monaco).toBe('python');
    expect(runtimeForPath('src/util.HPP')?.id).toBe('cpp');
    expect(runtimeForPath('Main.java')?.id).toBe('java');
    expect(runtimeForPath('lib.h')?.id).toBe('c');
    expect(runtimeForPath('Makefile')).toBeUndefined();
    expect(runtimeForPath('a.d/README')).toBeUndefined();
  });

  it('names the default entry files of the issue, each with its runtime extension', () => {
    const entries = RUNTIME_IDS.map((id) => RUNTIMES[id].entry);
    expect(entries).toEqual(['main.py', 'main.js', 'main.ts', 'main.go', 'main.c', 'main.cpp', 'main.rs', 'Main.java', 'main.rb', 'main.sh']);
    for (const id of RUNTIME_IDS) expect(runtimeForPath(RUNTIMES[id].entry)?.id).toBe(id);
  });

  it('has a compile stage exactly for the compiled languages', () => {
    expect(RUNTIME_IDS.filter(isCompiled)).toEqual(['ts', 'go', 'c', 'cpp', 'rs', 'java']);
  });

  it('uses absolute program paths and only known placeholders in every argv', () => {
    const known = new Set(['sources', 'entry', 'entryPath', 'entryStem', 'class', 'build', 'memoryMb']);
    for (const id of RUNTIME_IDS) {
      for (const stage of [RUNTIMES[id].compile, RUNTIMES[id].run]) {
        if (!stage) continue;
        expect(stage.argv[0], id).toMatch(/^(\/|\{build\})/);
        for (const arg of stage.argv) for (const m of arg.matchAll(/\{(\w+)\}/g)) expect(known.has(m[1] ?? ''), `${id}: ${arg}`).toBe(true);
        if (stage.warm) expect(stage.warm.prefix).toBeLessThan(stage.argv.length);
      }
    }
  });

  it('doubles the default compile timeout under TCG', () => {
    expect(defaultCompileLimits('c', 'kvm').compileTimeoutMs).toBe(10_000);
    expect(defaultCompileLimits('c', 'tcg').compileTimeoutMs).toBe(20_000);
  });

  it('exports one hello-world template per runtime, at its default entry', () => {
    for (const id of RUNTIME_IDS) {
      const files = helloTemplate(id);
      expect(files[0]?.path).toBe(RUNTIMES[id].entry);
      expect(files[0]?.content).toContain('Hello, world!');
    }
  });

  it('builds the GET /runtimes body from the manifest versions', () => {
    const body = runtimesResponseSchema.parse({ runtimes: runtimeInfos({ py: '3.11.2', go: '1.19.8' }) });
    expect(body.runtimes).toHaveLength(10);
    expect(body.runtimes.find((r) => r.id === 'py')).toMatchObject({ version: '3.11.2', compiled: false, monaco: 'python' });
    expect(body.runtimes.find((r) => r.id === 'rs')?.version).toBe('unknown');
  });
});
