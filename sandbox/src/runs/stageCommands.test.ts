import { describe, expect, it } from 'vitest';
import { RUNTIME_IDS, RUNTIMES } from '@codecell/protocol';
import type { RuntimeId } from '@codecell/protocol';
import { javaClassOf, planStages, sourceFiles } from './stageCommands.js';
import type { StageInput } from './stageCommands.js';
import { codeOf } from '../../test/runHelpers.js';

const input = (runtime: RuntimeId, extra: Partial<StageInput> = {}): StageInput => ({
  runtime,
  entry: RUNTIMES[runtime].entry,
  paths: [RUNTIMES[runtime].entry],
  acceleration: 'kvm',
  memoryMb: 128,
  timeoutMs: 5000,
  compileMemoryMb: 512,
  compileTimeoutMs: 10_000,
  ...extra,
});

describe('planStages', () => {
  it('gives interpreted languages one run stage and compiled ones compile then run', () => {
    for (const id of RUNTIME_IDS) {
      const names = planStages(input(id)).map((s) => s.name);
      expect(names, id).toEqual(RUNTIMES[id].compile ? ['compile', 'run'] : ['run']);
    }
  });

  it('runs Python as `python3 -u main.py` with the forked-interpreter fast path', () => {
    const [run] = planStages(input('py'));
    expect(run?.argv).toEqual(['/usr/bin/python3', '-u', 'main.py']);
    expect(run?.warm).toEqual({ kind: 'python', prefix: 2 });
  });

  it('compiles every C translation unit of the workspace, entry first, with -O2 -Wall -lm, C17', () => {
    const [compile, run] = planStages(input('c', { paths: ['main.c', 'util.h', 'z/last.c', 'a.c', 'notes.txt'] }));
    expect(compile?.argv).toEqual(['/usr/bin/gcc', '-std=c17', '-O2', '-Wall', '-o', '/tmp/.codecell-build/main', 'main.c', 'a.c', 'z/last.c', '-lm']);
    expect(compile?.memoryMb).toBe(512);
    expect(compile?.timeoutMs).toBe(10_000);
    expect(run?.argv).toEqual(['/tmp/.codecell-build/main']);
    expect(run?.memoryMb).toBe(128);
  });

  it('builds C++ as C++20 from .cpp/.cc/.cxx files', () => {
    const [compile] = planStages(input('cpp', { paths: ['main.cpp', 'b.cc', 'c.hpp'] }));
    expect(compile?.argv).toContain('-std=c++20');
    expect(compile?.argv.filter((a) => /\.(cpp|cc|hpp)$/.test(a))).toEqual(['main.cpp', 'b.cc']);
  });

  it("builds a Go package from the entry's directory, without test files", () => {
    const [compile] = planStages(input('go', { entry: 'cmd/main.go', paths: ['cmd/main.go', 'cmd/util.go', 'cmd/util_test.go', 'other/x.go'] }));
    expect(compile?.argv.slice(-2)).toEqual(['cmd/main.go', 'cmd/util.go']);
    expect(compile?.env['GOCACHE']).toBeDefined();
  });

  it('compiles Java with javac and runs the class named by the entry, heap sized from the memory limit', () => {
    const [compile, run] = planStages(input('java', { entry: 'com/acme/App.java', paths: ['com/acme/App.java', 'com/acme/Util.java'] }));
    expect(compile?.argv).toEqual(expect.arrayContaining(['-m', 'jdk.compiler/com.sun.tools.javac.Main', 'com/acme/App.java', 'com/acme/Util.java']));
    expect(run?.argv.slice(-3)).toEqual(['-cp', '/tmp/.codecell-build/classes', 'com.acme.App']);
    expect(run?.argv).toContain('-Xmx128m');
  });

  it('adds the JIT flags only under TCG, and moves the warm prefix past them', () => {
    const kvm = planStages(input('java'));
    const tcg = planStages(input('java', { acceleration: 'tcg' }));
    expect(tcg[0]?.argv.length).toBe((kvm[0]?.argv.length ?? 0) + 2);
    expect(tcg[0]?.argv[1]).toBe('-XX:TieredStopAtLevel=1');
    expect(tcg[0]?.warm?.prefix).toBe((kvm[0]?.warm?.prefix ?? 0) + 2);
    expect(tcg[1]?.argv.slice(0, tcg[1]?.warm?.prefix)).toContain('-Xmx128m');
  });

  it('runs tsc without V8\'s JIT under TCG only (half the compile time there), and node programs with it', () => {
    const kvm = planStages(input('ts'));
    const tcg = planStages(input('ts', { acceleration: 'tcg' }));
    expect(kvm[0]?.argv).not.toContain('--jitless');
    expect(tcg[0]?.argv.slice(0, 3)).toEqual(['/usr/bin/node', '--jitless', '/usr/lib/codecell/tsc-driver.js']);
    expect(tcg[0]?.warm?.prefix).toBe((kvm[0]?.warm?.prefix ?? 0) + 1);
    expect(tcg[1]?.argv).toEqual(kvm[1]?.argv);
    expect(planStages(input('js', { acceleration: 'tcg' }))[0]?.argv).not.toContain('--jitless');
  });

  it('runs TypeScript by compiling every .ts file with tsc and running the entry with node', () => {
    const [compile, run] = planStages(input('ts', { entry: 'src/main.ts', paths: ['src/main.ts', 'src/lib.ts', 'x.js'] }));
    expect(compile?.argv.slice(-2)).toEqual(['src/main.ts', 'src/lib.ts']);
    expect(run?.argv).toEqual(['/usr/bin/node', '/tmp/.codecell-build/ts/src/main.js']);
  });

  it('gives Rust, JavaScript, Ruby and Bash only the entry (the rest is found through mod/require/source)', () => {
    for (const id of ['rs', 'js', 'rb', 'sh'] as const) {
      expect(sourceFiles(RUNTIMES[id], RUNTIMES[id].entry, [RUNTIMES[id].entry, `helper${RUNTIMES[id].extensions[0] ?? ''}`])).toEqual([RUNTIMES[id].entry]);
    }
    expect(planStages(input('rb'))[0]?.argv).toEqual(['/usr/bin/ruby', '/workspace/main.rb']);
  });

  it("appends run args to the run stage's argv only, the warm prefix unchanged (issue 13: Piston's args, Judge0's command_line_arguments)", () => {
    const args = ['1', 'two words', '-x'];
    const [py] = planStages(input('py', { args }));
    expect(py?.argv).toEqual(['/usr/bin/python3', '-u', 'main.py', ...args]);
    expect(py?.warm).toEqual({ kind: 'python', prefix: 2 });
    const [compile, run] = planStages(input('c', { args }));
    expect(compile?.argv).not.toContain('two words');
    expect(run?.argv).toEqual(['/tmp/.codecell-build/main', ...args]);
    const java = planStages(input('java', { args, acceleration: 'tcg' })).at(-1);
    expect(java?.argv.slice(-4)).toEqual(['Main', ...args]);
    expect(planStages(input('js', { args: [] }))[0]?.argv).toEqual(planStages(input('js'))[0]?.argv);
  });

  it('refuses a compiled entry of another language and a Java entry that names no class', () => {
    expect(codeOf(() => planStages(input('c', { entry: 'main.py', paths: ['main.py'] })))).toBe('invalid_request');
    expect(codeOf(() => javaClassOf('my-app/Main.java'))).toBe('invalid_path');
    expect(javaClassOf('Main.java')).toBe('Main');
  });
});
