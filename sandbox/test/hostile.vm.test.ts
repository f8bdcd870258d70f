/**
 * Hostile programs through the public run API, against real microVMs: each
 * must end with the expected status, leave the service healthy, and the next
 * run in another session must start clean and in its usual time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRequestSchema } from '@codecell/protocol';
import type { RunRequest, RunStatus } from '@codecell/protocol';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import type { Sandbox } from '../src/server/createSandbox.js';
import { silentLogger } from '@codecell/server-kit';
import { disposeLeavingNothing } from './leftovers.js';
import { collect, runPy } from './runHelpers.js';
import type { Collected } from './runHelpers.js';

let sb: Sandbox;
let session = 0;

beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'cc-hostile-'));
  sb = await createSandbox(loadConfig({ POOL_SIZE: '2', SANDBOX_RUN_DIR: base, MAX_CONCURRENT_RUNS: '4' }), silentLogger);
});

afterAll(() => disposeLeavingNothing(sb));

/** Runs a hostile program, then checks the service still serves a clean run quickly. */
async function hostile(source: string, expected: RunStatus | RunStatus[], extra: Partial<RunRequest> = {}): Promise<Collected> {
  const allowed = Array.isArray(expected) ? expected : [expected];
  // When a timeout is not an acceptable end, the wall clock must not be what
  // ends the run: under TCG on a loaded CI host a memory or stack limit can
  // take several seconds to reach.
  const timeoutMs = allowed.includes('timeout') ? 3000 : 20_000;
  const r = await runPy(sb.runs, source, { limits: { timeoutMs }, ...extra });
  expect(allowed, `status ${r.exit?.status}; stderr: ${r.stderr.slice(-500)}`).toContain(r.exit?.status);
  expect(sb.health().ok).toBe(true);
  const t0 = performance.now();
  const next = await runPy(sb.runs, 'import os\nprint(sorted(os.listdir(".")), len(os.listdir("/tmp")))', { sessionId: `clean-${++session}` });
  expect(next.exit?.status).toBe('ok');
  expect(next.stdout).toBe("['main.py'] 0\n");
  expect(performance.now() - t0).toBeLessThan(10_000);
  return r;
}

describe('hostile programs', () => {
  it('fork bomb', () => hostile('import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass', ['timeout', 'runtime_error']));
  it('thread bomb', () =>
    hostile('import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()', ['runtime_error', 'memory_limit', 'timeout']));
  it('fast memory bomb', () => hostile('x = b"x" * (1 << 30)', ['memory_limit', 'runtime_error']));
  it('slow memory bomb', () => hostile('import time\nl = []\nwhile True:\n    l.append(bytearray(4 << 20))\n    time.sleep(0.005)', 'memory_limit'));
  it('CPU loop', () => hostile('while True: pass', 'timeout'));
  it('sleep forever', () => hostile('import time\ntime.sleep(10**6)', 'timeout'));
  it('infinite output', () => hostile('while True: print("spam " * 20)', 'output_limit', { limits: { timeoutMs: 20_000, outputBytes: 200_000 } }));
  it('one huge line', () => hostile('import sys\nsys.stdout.write("x" * (50 << 20))', ['output_limit', 'memory_limit']));
  it('output without newlines', () => hostile('import sys\nwhile True: sys.stdout.write("x")', 'output_limit', { limits: { timeoutMs: 20_000, outputBytes: 20_000 } }));
  it('binary and invalid UTF-8 output', async () => {
    const r = await hostile('import sys\nsys.stdout.buffer.write(bytes(range(256)) + b"\\xff\\xfe\\xc3")\nsys.stderr.buffer.write(b"\\x80bad\\n")', 'ok');
    expect(r.stdout).toContain('\uFFFD');
    expect(r.stderr).toContain('bad');
  });
  it('fills /workspace', async () => {
    const r = await hostile('n = 0\nwith open("big", "wb") as f:\n    while True:\n        f.write(b"x" * (1 << 20)); n += 1', ['runtime_error', 'memory_limit']);
    expect(r.stderr + (r.exit?.status ?? '')).toMatch(/No space left|memory_limit|File too large/);
  });
  it('fills /tmp (emptied after the run)', () => hostile('with open("/tmp/big", "wb") as f:\n    while True: f.write(b"x" * (1 << 20))', ['runtime_error', 'memory_limit']));
  it('huge numbers of files', () => hostile('i = 0\nwhile True:\n    open(f"/tmp/f{i}", "w").close(); i += 1', ['runtime_error', 'timeout', 'memory_limit']));
  it('network: TCP and UDP to host addresses, DNS', async () => {
    const src = [
      'import socket',
      'for host, port in [("10.0.2.2", 5000), ("127.0.0.1", 5000), ("169.254.169.254", 80), ("8.8.8.8", 53)]:',
      '    try:',
      '        socket.create_connection((host, port), timeout=1); print("CONNECTED", host)',
      '    except OSError as e:',
      '        print("blocked", host, e.errno)',
      'try:',
      '    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.0.2.2", 53)); print("SENT")',
      'except OSError as e:',
      '    print("udp blocked", e.errno)',
      'try:',
      '    print("RESOLVED", socket.getaddrinfo("example.com", 80))',
      'except OSError as e:',
      '    print("dns blocked")',
      'print([name for _, name in socket.if_nameindex()])',
    ].join('\n');
    const r = await hostile(src, 'ok');
    expect(r.stdout).not.toMatch(/CONNECTED|SENT|RESOLVED/);
    expect(r.stdout).toContain('dns blocked');
    expect(r.stdout.trim().endsWith("['lo']")).toBe(true); // no network device but loopback
  });
  it('reads host files and devices', async () => {
    const src = [
      'import os',
      'for p in ["/dev/mem", "/proc/kcore", "/dev/vport0p1", "/proc/1/mem", "/proc/1/environ", "/root", "/root/.cache/codecell", "/etc/shadow", "/proc/sysrq-trigger"]:',
      '    try:',
      '        with open(p, "rb") as f: f.read(1); print("READ", p)',
      '    except OSError as e:',
      '        print("denied", p, e.errno)',
    ].join('\n');
    const r = await hostile(src, 'ok');
    expect(r.stdout).not.toContain('READ');
  });
  it('kernel modules, mount, ptrace, reboot, clock', async () => {
    const src = [
      'import ctypes, os, subprocess',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'print("init_module", libc.init_module(None, 0, b""), ctypes.get_errno())',
      'print("mount", subprocess.run(["mount", "-t", "tmpfs", "x", "/mnt"], capture_output=True).returncode)',
      'print("ptrace", libc.ptrace(16, 1, None, None), ctypes.get_errno())',
      'print("reboot", libc.reboot(0x1234567), ctypes.get_errno())',
      'import time',
      'try:\n    time.clock_settime(time.CLOCK_REALTIME, 0); print("CLOCK SET")\nexcept OSError as e:\n    print("clock", e.errno)',
    ].join('\n');
    // ctypes plus a subprocess cost seconds under TCG on a busy host; the point is what is denied, not speed.
    const r = await hostile(src, 'ok', { limits: { timeoutMs: 15_000 } });
    expect(r.stdout).toMatch(/init_module -1 1\n/);
    expect(r.stdout).toMatch(/mount [1-9]/);
    expect(r.stdout).toMatch(/ptrace -1 1\n/);
    expect(r.stdout).toMatch(/reboot -1 1\n/);
    expect(r.stdout).not.toContain('CLOCK SET');
  });
  it('raises rlimits and setuid', async () => {
    const src = [
      'import os, resource',
      'soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)',
      'try:\n    resource.setrlimit(resource.RLIMIT_NOFILE, (hard + 1, hard + 1)); print("RAISED")\nexcept (ValueError, OSError):\n    print("rlimit denied")',
      'try:\n    os.setuid(0); print("ROOT")\nexcept PermissionError:\n    print("setuid denied")',
    ].join('\n');
    const r = await hostile(src, 'ok');
    expect(r.stdout).toBe('rlimit denied\nsetuid denied\n');
  });
  it('stops itself with SIGSTOP', () => hostile('import os, signal\nprint("stopping", flush=True)\nos.kill(os.getpid(), signal.SIGSTOP)', 'timeout'));
  it('stops its whole process group', () => hostile('import os, signal, subprocess\nsubprocess.Popen(["sleep", "100"])\nos.killpg(0, signal.SIGSTOP)', 'timeout'));
  it('kills or replaces the guest agent (PID 1)', async () => {
    const src = [
      'import os, signal',
      'for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV):',
      '    try:\n        os.kill(1, sig); print("SIGNALLED")\n    except PermissionError:\n        print("kill denied")',
      'try:\n    open("/agent/agent.py", "w").write("x"); print("REPLACED")\nexcept OSError:\n    print("write denied")',
    ].join('\n');
    const r = await hostile(src, 'ok');
    expect(r.stdout).toBe('kill denied\nkill denied\nkill denied\nwrite denied\n');
  });
  it('background daemons do not outlive the run or leak into the next run of the session', async () => {
    const sessionId = 'daemon-session';
    const daemon = [
      'import os, subprocess, time',
      'subprocess.Popen(["sleep", "1000"], start_new_session=True)',
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      '        while True:',
      '            open("/workspace/beacon", "a").write("x"); time.sleep(0.05)',
      '    os._exit(0)',
      'print("spawned")',
    ].join('\n');
    const r1 = await runPy(sb.runs, daemon, { sessionId, limits: { timeoutMs: 20_000 } });
    expect(r1.exit?.status).toBe('ok');
    const probe = [
      'import os, time',
      'mine = os.getpid()',
      'def others():',
      '    return [p for p in os.listdir("/proc") if p.isdigit() and int(p) != mine and os.stat(f"/proc/{p}").st_uid == 1000]',
      'a = os.path.getsize("beacon") if os.path.exists("beacon") else 0',
      'time.sleep(0.3)',
      'b = os.path.getsize("beacon") if os.path.exists("beacon") else 0',
      'print(len(others()), a == b)',
    ].join('\n');
    const r2 = await runPy(sb.runs, probe, { sessionId, limits: { timeoutMs: 20_000 } });
    expect(r2.stdout).toBe('0 True\n');
  });
  it('closes its stdout and stderr', () => hostile('import os\nos.close(1)\nos.close(2)\nimport time\ntime.sleep(0.2)', 'ok'));
  it('deep recursion', async () => {
    const r = await hostile('import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)', ['runtime_error', 'memory_limit']);
    if (r.exit?.status === 'runtime_error') expect(r.exit.signal === 'SIGSEGV' || r.stderr.includes('RecursionError')).toBe(true);
  });
  it('a symlink planted in /workspace is never followed when files are written', async () => {
    const sessionId = 'symlink-session';
    await runPy(sb.runs, 'import os\nos.symlink("/etc/passwd", "evil.txt")\nos.symlink("/tmp", "evildir")', { sessionId });
    const r = await runPy(sb.runs, 'print(open("/etc/passwd").read().count("\\n"))', {
      sessionId,
      files: [
        { path: 'evil.txt', content: 'root::0:0::/:/bin/sh\n' },
        { path: 'evildir/x.py', content: '' },
      ],
    });
    expect(r.exit?.status).toBe('runtime_error');
    expect(r.stderr).toContain('cannot write');
    const check = await runPy(sb.runs, 'print("root::0:0" in open("/etc/passwd").read())', { sessionId });
    expect(check.stdout).toBe('False\n');
  });
  it('a path with .. is rejected at the API, and again inside the guest', async () => {
    const files = [{ path: 'a/../../etc/x', content: 'x' }];
    expect(runRequestSchema.safeParse({ language: 'py', source: '', files }).success).toBe(false);
    const r = await hostile('print("ran")', 'runtime_error', { files });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invalid path');
  });
  it('a flood of stdin to a program that never reads it', async () => {
    const job = sb.runs.start({ language: 'py', source: 'import time\ntime.sleep(1.5)\nprint("done")', limits: { timeoutMs: 5000 } });
    const done = collect(job);
    const chunk = 'y'.repeat(64 * 1024);
    for (let i = 0; i < 400; i++) job.sendStdin(chunk, false); // 25 MiB
    const r = await done;
    expect(r.exit?.status).toBe('ok');
    expect(r.stdout).toBe('done\n');
  });
  it('too many open files', () =>
    hostile('fs = []\ntry:\n    while True: fs.append(open("/dev/null"))\nexcept OSError as e:\n    print("limit", e.errno)', 'ok'));
  it('zombie flood', () => hostile('import os\nwhile True:\n    try:\n        if os.fork() == 0: os._exit(0)\n    except OSError:\n        break\nprint("stopped")', ['ok', 'timeout']));
  it('exits by exec-ing another program', async () => {
    const r = await hostile('import os\nos.execv("/bin/sh", ["sh", "-c", "echo from-sh; exit 7"])', 'runtime_error');
    expect(r.stdout).toBe('from-sh\n');
    expect(r.exit?.code).toBe(7);
  });
  it('writes to /proc/sys and /sys', async () => {
    const r = await hostile(
      'for p in ["/proc/sys/kernel/panic", "/sys/fs/cgroup/cgroup.procs", "/proc/sys/vm/drop_caches"]:\n    try:\n        open(p, "w").write("1"); print("WROTE", p)\n    except OSError:\n        print("denied")',
      'ok',
    );
    expect(r.stdout).not.toContain('WROTE');
  });
  it('escapes its cgroup', async () => {
    const r = await hostile('import os\ntry:\n    open("/sys/fs/cgroup/cgroup.procs", "w").write(str(os.getpid())); print("ESCAPED")\nexcept OSError:\n    print("denied")', 'ok');
    expect(r.stdout).toBe('denied\n');
  });
});
