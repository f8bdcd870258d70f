import { describe, expect, it } from 'vitest';
import { RUNTIMES, RUNTIME_IDS, extensionOf, languageMismatch, runCodeInputSchema, runLanguage, runtimesForEntry } from './index.js';

const files = (...paths: string[]) => paths.map((path) => ({ path, content: '' }));
const issues = (input: unknown) => runCodeInputSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('issue 10: which runtime runs an entry file', () => {
  it('reads extensions case-insensitively, only from the file name', () => {
    expect(extensionOf('src/Main.JAVA')).toBe('.java');
    expect(extensionOf('run')).toBeNull();
    expect(extensionOf('a.d/run')).toBeNull();
    expect(extensionOf('.bashrc')).toBeNull();
  });

  it('every entry of the table is run by its own runtime; unknown extensions by any', () => {
    for (const id of RUNTIME_IDS) expect(runtimesForEntry(RUNTIMES[id].entry)).toEqual([id]);
    expect(runtimesForEntry('lib/util.hpp')).toEqual(['cpp']);
    expect(runtimesForEntry('include/list.h')).toEqual(['c', 'cpp']);
    expect(runtimesForEntry('run')).toEqual(RUNTIME_IDS);
    expect(runtimesForEntry('notes.txt')).toEqual(RUNTIME_IDS);
  });

  it('a preference wins where the entry allows it; else the extension; else Python', () => {
    expect(runLanguage(undefined)).toBe('py');
    expect(runLanguage(undefined, 'go')).toBe('go');
    expect(runLanguage('main.go')).toBe('go');
    expect(runLanguage('main.go', 'py')).toBe('go');
    expect(runLanguage('run')).toBe('py');
    expect(runLanguage('run', 'sh')).toBe('sh');
    expect(runLanguage('list.h')).toBe('c');
    expect(runLanguage('list.h', 'cpp')).toBe('cpp');
  });

  it('says what to change for a language the extension rules out', () => {
    expect(languageMismatch('main.go', 'go')).toBeNull();
    expect(languageMismatch('run', 'rb')).toBeNull();
    expect(languageMismatch('main.go', 'py')).toBe(
      'entry main.go is a Go file (.go), so it cannot run as Python (py): give language "go" (or leave it out: the extension decides), or rename the file to end in .py',
    );
    expect(languageMismatch('x.h', 'rs')).toMatch(/is a C or C\+\+ file \(\.h\).*give language "c" or "cpp"/);
  });
});

describe('issue 10: runCode language', () => {
  it('comes from the entry when not given', () => {
    expect(runCodeInputSchema.parse({ files: files('main.go', 'util.go'), entry: 'main.go' }).language).toBe('go');
    expect(runCodeInputSchema.parse({ files: files('src/App.java'), entry: 'src/App.java' }).language).toBe('java');
  });

  it('an explicit language wins where the extension cannot tell: a .h entry, a Python file named run', () => {
    expect(runCodeInputSchema.parse({ files: files('run'), entry: 'run', language: 'python' })).toMatchObject({ language: 'py', entry: 'run' });
    expect(runCodeInputSchema.parse({ files: files('run'), entry: 'run', language: 'bash' }).language).toBe('sh');
    expect(runCodeInputSchema.parse({ files: files('a.h', 'a.cpp'), entry: 'a.h', language: 'c++' }).language).toBe('cpp');
    expect(runCodeInputSchema.parse({ files: files('a.h', 'a.c'), entry: 'a.h', language: 'c' }).language).toBe('c');
  });

  it('a language the entry rules out is refused (not silently overridden), at `language`', () => {
    expect(issues({ files: files('main.go'), entry: 'main.go', language: 'py' })).toEqual([
      'language: entry main.go is a Go file (.go), so it cannot run as Python (py): give language "go" (or leave it out: the extension decides), or rename the file to end in .py',
    ]);
    expect(issues({ source: 'x', entry: 'main.js', language: 'ts' })).toHaveLength(1);
    expect(issues({ source: 'x', entry: 'a.hpp', language: 'c' })[0]).toMatch(/^language: entry a.hpp is a C\+\+ file/);
  });

  it("the seed's {language, source} form writes the language's own entry file", () => {
    expect(runCodeInputSchema.parse({ language: 'go', source: 'package main' })).toEqual({
      language: 'go',
      entry: 'main.go',
      files: [{ path: 'main.go', content: 'package main' }],
    });
    expect(runCodeInputSchema.parse({ language: 'java', source: 'class Main {}' }).entry).toBe('Main.java');
    expect(runCodeInputSchema.parse({ source: 'print(1)' })).toMatchObject({ language: 'py', entry: 'main.py' });
  });

  it('an unknown language lists the names it takes', () => {
    const [msg] = issues({ language: 'cobol', source: 'x' });
    expect(msg).toMatch(/^language: /);
    for (const id of RUNTIME_IDS) expect(msg).toContain(`"${id}"`);
  });
});
