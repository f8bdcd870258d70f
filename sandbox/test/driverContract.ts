/**
 * The driver contract suite: one set of behaviours every VMM driver must give
 * the sandbox, run through the real pool, sessions and runner. Called by
 * `qemu.vm.test.ts` (real QEMU microVMs) and `firecracker.vm.test.ts` (real
 * Firecracker where FIRECRACKER_BIN is set). Test names cite guest/SPEC.md rules.
 * @module
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunService } from '../src/runs/RunService.js';
import { childProcesses, leftoverCgroups } from './leftovers.js';
import { collect, runPy, until } from './runHelpers.js';

export interface ContractSandbox {
  readonly runs: RunService;
  /** Directory holding every VM file; must be gone after dispose. */
  readonly runDir: string;
  /** Command name of the VMM process, to find leftovers. */
  readonly vmmComm: RegExp;
  dispose(): Promise<void>;
}

export function driverContract(name: string, create: () => Promise<ContractSandbox>): void {
  describe(`driver contract: ${name}`, () => {
    let sb: ContractSandbox;
    beforeAll(async () => {
      sb = await create();
    });
    afterAll(async () => {
      await sb?.dispose();
    });

    it('runs a program and reports ok with exit code, CPU, wall time and memory', async () => {
      const r = await runPy(sb.runs, 'print("hello")');
      expect(r.events[0]?.type).toBe('start');
      expect(r.stdout).toBe('hello\n');
      expect(r.exit).toMatchObject({ status: 'ok', code: 0, signal: null });
      expect(r.exit?.wallMs).toBeGreaterThan(0);
      expect(r.exit?.cpuMs).toBeGreaterThan(0);
      expect(r.exit?.maxRssKb).toBeGreaterThan(0);
      expect(r.events.at(-1)?.type).toBe('exit');
    });

    it('keeps stdout and stderr apart and reports runtime_error with a clean traceback', async () => {
      const r = await runPy(sb.runs, 'import sys\nprint("out")\nprint("err", file=sys.stderr)\nraise ValueError("boom")\n');
      expect(r.stdout).toBe('out\n');
      expect(r.stderr).toContain('err\n');
      expect(r.stderr).toContain('Traceback (most recent call last):');
      expect(r.stderr).toContain('File "/workspace/main.py", line 4, in <module>');
      expect(r.stderr).toContain('ValueError: boom');
      expect(r.stderr).not.toContain('/agent/');
      expect(r.exit).toMatchObject({ status: 'runtime_error', code: 1 });
    });

    it('passes sys.exit codes through', async () => {
      const r = await runPy(sb.runs, 'import sys; sys.exit(3)');
      expect(r.exit).toMatchObject({ status: 'runtime_error', code: 3 });
    });

    it('streams output as it is produced, not at exit', async () => {
      const seen: number[] = [];
      const job = sb.runs.start({ language: 'py', source: 'import time\nprint("a")\ntime.sleep(0.6)\nprint("b")\n' });
      const r = await collect(job, (e) => {
        if (e.type === 'stdout' || e.type === 'exit') seen.push(performance.now());
      });
      expect(r.stdout).toBe('a\nb\n');
      const first = seen[0] as number;
      const exitAt = seen.at(-1) as number;
      expect(exitAt - first).toBeGreaterThan(400);
    });

    it('enforces the wall-clock timeout (status timeout)', async () => {
      const r = await runPy(sb.runs, 'while True: pass', { limits: { timeoutMs: 1000 } });
      expect(r.exit?.status).toBe('timeout');
      expect(r.exit?.code).toBeNull();
    });

    it('enforces the memory limit (status memory_limit)', async () => {
      const r = await runPy(sb.runs, 'x = bytearray(200 * 1024 * 1024)\nprint("allocated")', { limits: { memoryMb: 64 } });
      expect(r.exit?.status).toBe('memory_limit');
      expect(r.stdout).not.toContain('allocated');
    });

    it('enforces the output limit (status output_limit) and sends no more than the limit', async () => {
      const r = await runPy(sb.runs, 'while True: print("x" * 999)', { limits: { outputBytes: 10_000 } });
      expect(r.exit?.status).toBe('output_limit');
      expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(10_000);
      expect(Buffer.byteLength(r.stdout)).toBeGreaterThan(5_000);
    });

    it('kills a running program on request (status killed)', async () => {
      const job = sb.runs.start({ language: 'py', source: 'print("started", flush=True)\nwhile True: pass' });
      const done = collect(job);
      await until(() => job.state === 'running');
      await new Promise((r) => setTimeout(r, 300));
      job.kill();
      const r = await done;
      expect(r.exit?.status).toBe('killed');
    });

    it('round-trips stdin while the program runs', async () => {
      const job = sb.runs.start({ language: 'py', source: 'name = input()\nprint("hello", name)\nprint(input())' });
      const done = collect(job);
      job.sendStdin('world\n', false);
      job.sendStdin('second\n', true);
      const r = await done;
      expect(r.stdout).toBe('hello world\nsecond\n');
      expect(r.exit?.status).toBe('ok');
    });

    it('gives the request stdin followed by end-of-file', async () => {
      const r = await runPy(sb.runs, 'import sys\nprint(sys.stdin.read().upper(), end="")', { stdin: 'abc\ndef\n' });
      expect(r.stdout).toBe('ABC\nDEF\n');
    });

    it('places files in /workspace, including packages in subdirectories', async () => {
      const r = await runPy(sb.runs, 'from pkg.util import twice\nimport helper\nprint(twice(helper.N), open("data/in.txt").read())', {
        files: [
          { path: 'helper.py', content: 'N = 21\n' },
          { path: 'pkg/__init__.py', content: '' },
          { path: 'pkg/util.py', content: 'def twice(x):\n    return 2 * x\n' },
          { path: 'data/in.txt', content: 'ünïcode' },
        ],
      });
      expect(r.stdout).toBe('42 ünïcode\n');
    });

    it('runs as an unprivileged user with no network', async () => {
      const r = await runPy(
        sb.runs,
        'import os, socket\nprint(os.getuid(), os.getcwd())\ntry:\n    socket.create_connection(("10.0.2.2", 80), timeout=2)\nexcept OSError as e:\n    print("no network:", e.errno)\n',
      );
      expect(r.stdout).toMatch(/^1000 \/workspace\nno network: \d+\n$/);
    });

    it('supports threads, subprocesses and multiprocessing', async () => {
      const src = [
        'import threading, subprocess, multiprocessing, sys',
        'out = []',
        't = threading.Thread(target=lambda: out.append("thread")); t.start(); t.join()',
        'print(out[0])',
        'print(subprocess.run([sys.executable, "-c", "print(6*7)"], capture_output=True, text=True).stdout.strip())',
        'if __name__ == "__main__":',
        '    with multiprocessing.Pool(2) as p:',
        '        print(sum(p.map(abs, [-1, -2, -3])))',
      ].join('\n');
      const r = await runPy(sb.runs, src, { limits: { timeoutMs: 20_000 } });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('thread\n42\n6\n');
    });

    it('gives clones distinct randomness (reseeded after restore)', async () => {
      const src = 'import os, random\nprint(os.urandom(8).hex(), random.random())';
      const [a, b] = await Promise.all([runPy(sb.runs, src), runPy(sb.runs, src)]);
      expect(a.stdout).not.toBe(b.stdout);
      expect(a.vmId).not.toBe(b.vmId);
    });

    it('keeps /workspace across runs of one session and isolates sessions from each other', async () => {
      const [a1, b1] = await Promise.all([
        runPy(sb.runs, 'open("secret.txt", "w").write("A")\nprint("written")', { sessionId: 'contract-a' }),
        runPy(sb.runs, 'import os\nprint(sorted(os.listdir(".")))', { sessionId: 'contract-b' }),
      ]);
      expect(a1.stdout).toBe('written\n');
      expect(b1.stdout).not.toContain('secret.txt');
      expect(a1.vmId).not.toBe(b1.vmId);
      const a2 = await runPy(sb.runs, 'print(open("secret.txt").read())', { sessionId: 'contract-a' });
      expect(a2.stdout).toBe('A\n');
      expect(a2.vmId).toBe(a1.vmId);
      const b2 = await runPy(sb.runs, 'import os\nprint(os.path.exists("secret.txt"))', { sessionId: 'contract-b' });
      expect(b2.stdout).toBe('False\n');
    });

    it('ends a run whose VMM dies with internal_error, and the pool heals', async () => {
      const job = sb.runs.start({ language: 'py', source: 'print("up", flush=True)\nimport time\ntime.sleep(30)' });
      const seenOutput = { v: false };
      const done = collect(job, (e) => {
        if (e.type === 'stdout') seenOutput.v = true;
      });
      await until(() => seenOutput.v, 20_000);
      for (const pid of childProcesses(process.pid, sb.vmmComm)) process.kill(pid, 'SIGKILL');
      const r = await done;
      expect(r.exit?.status).toBe('internal_error');
      expect(r.error?.code).toBe('vm_crashed');
      const next = await runPy(sb.runs, 'print("healed")');
      expect(next.exit?.status).toBe('ok');
      expect(next.stdout).toBe('healed\n');
    });

    it('leaves no VMM process, file or cgroup behind', async () => {
      await sb.dispose();
      expect(childProcesses(process.pid, sb.vmmComm)).toEqual([]);
      expect(existsSync(sb.runDir)).toBe(false);
      expect(leftoverCgroups(process.pid)).toEqual([]);
    });
  });
}
